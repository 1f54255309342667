/**
 * `release resume|approve|abort`: the same run of the controller on an existing release, with
 * or without a request (approve / abort) for it.
 */
import { Args } from '@oclif/core';
import { DockerEngine } from '../engine/docker-engine.js';
import { SwarmDockerEngine } from '../engine/swarm-docker.js';
import { resumeRelease } from '../release/release.js';
import type { ControlRequest } from '../release/store.js';
import { EnvctlCommand } from './base-command.js';
import { actorName, driveRelease } from './release-support.js';

export const releaseIdArg = { id: Args.string({ description: 'release id (default: the latest release of the definition’s release service)', required: false }) };

export abstract class ExistingReleaseCommand extends EnvctlCommand {
  protected async drive(flags: Parameters<EnvctlCommand['loadOptions']>[0], id: string | undefined, action: ControlRequest['action'] | undefined): Promise<Record<string, unknown>> {
    const actor = actorName();
    return driveRelease(this.outputMode(), ({ notify, confirm, signal }) =>
      resumeRelease(
        { load: this.loadOptions(flags), engine: DockerEngine.fromEnv(process.env), swarm: SwarmDockerEngine.fromEnv(process.env), id, notify, now: () => new Date(), signal, confirm, actor, notifyOnEnd: true },
        action ? { action, actor, at: new Date().toISOString() } : undefined,
      ),
    );
  }
}
