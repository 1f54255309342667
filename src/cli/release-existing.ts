/**
 * `release resume|approve|abort`: the same run of the controller on an existing release, with
 * or without a request (approve / abort) for it.
 */
import { Args } from '@oclif/core';
import { DockerEngine } from '../engine/docker-engine.js';
import { PROD_ONLY, type ReleaseOutcome } from '../release/controller.js';
import { resumeRelease } from '../release/release.js';
import type { ControlRequest } from '../release/store.js';
import { EnvctlCommand } from './base-command.js';
import { cancelOnSignals } from './cancellation.js';
import { actorName, outcomeJson, printOutcome, releaseOutput } from './release-support.js';

export const releaseIdArg = { id: Args.string({ description: 'release id (default: the latest release of the definition’s release service)', required: false }) };

export abstract class ExistingReleaseCommand extends EnvctlCommand {
  protected async drive(flags: Parameters<EnvctlCommand['loadOptions']>[0], id: string | undefined, action: ControlRequest['action'] | undefined): Promise<Record<string, unknown>> {
    const mode = this.outputMode();
    const output = releaseOutput(mode);
    const notify = output.notify;
    const cancellation = cancelOnSignals(() => notify({ release: '', event: 'warning', message: 'stopping the controller: the proxy keeps the current weights', step: 0, weights: PROD_ONLY }));
    let outcome: ReleaseOutcome | undefined;
    try {
      const actor = actorName();
      outcome = await resumeRelease(
        { load: this.loadOptions(flags), engine: DockerEngine.fromEnv(process.env), id, notify, now: () => new Date(), signal: cancellation.signal, confirm: output.confirm, actor, notifyOnEnd: true },
        action ? { action, actor, at: new Date().toISOString() } : undefined,
      );
    } finally {
      cancellation.dispose();
      await output.finish(outcome);
    }
    printOutcome(mode, outcome);
    process.exitCode = outcome.exitCode;
    return outcomeJson(outcome);
  }
}
