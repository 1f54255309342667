import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { actorName, driveRelease } from '../../cli/release-support.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { SwarmDockerEngine } from '../../engine/swarm-docker.js';
import { targetFlag } from '../../cli/target-flag.js';
import { UsageError } from '../../errors.js';
import { startRelease } from '../../release/release.js';

export default class ReleaseStartCommand extends EnvctlCommand {
  static override summary = 'Release a new version of the release service: canary steps through the weighted proxy, judged, then promoted or rolled back.';
  static override description =
    'Needs the environment running (`envctl up`) and a `pipeline.release` section. Starts the new version (canary) and a fresh copy of the current one (baseline) beside production, puts the release proxy in front (published on 127.0.0.1), sends the built-in load, and raises the canary’s share step by step while the judge compares canary with baseline. Exit 0 promoted, 1 rolled back, 4 inconclusive or waiting at a manual gate (without a TTY), 130 interrupted (the proxy keeps the current weights; `envctl release resume` continues). On an environment deployed with `envctl up --target swarm` (found by itself, or `--target swarm`), the canary, the baseline and the proxy run as services of its stack.';
  static override examples = [
    '<%= config.bin %> release start',
    '<%= config.bin %> release start --build-arg WEB_FAULT=errors',
    '<%= config.bin %> release start --image demo-web:v2 --json',
    '<%= config.bin %> release start --target swarm --build-arg WEB_VERSION=2',
  ];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    image: Flags.string({ description: 'the new version: an image the engine has', exclusive: ['build'] }),
    build: Flags.boolean({ description: 'build the new version from the definition (the default when the service has build:)', default: false }),
    'build-arg': Flags.string({ description: 'build argument KEY=VALUE for the new version (repeatable)', multiple: true }),
    target: targetFlag,
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(ReleaseStartCommand);
    const buildArgs: Record<string, string> = {};
    for (const entry of flags['build-arg'] ?? []) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(entry);
      if (!match) throw new UsageError('BAD_BUILD_ARG', `--build-arg "${entry}" is not KEY=VALUE`, 'e.g. --build-arg WEB_FAULT=errors');
      buildArgs[match[1]!] = match[2]!;
    }
    if (flags.image !== undefined && Object.keys(buildArgs).length > 0) throw new UsageError('BAD_FLAGS', '--build-arg applies to a build, not to --image', 'drop one of them');
    return driveRelease(this.outputMode(), ({ notify, confirm, signal }) =>
      startRelease({
        load: this.actingLoadOptions(flags),
        engine: DockerEngine.fromEnv(process.env),
        swarm: SwarmDockerEngine.fromEnv(process.env),
        target: flags.target,
        image: flags.image,
        build: flags.build,
        buildArgs,
        random: Math.random,
        onBuildLine: () => undefined,
        notify,
        now: () => new Date(),
        signal,
        confirm,
        actor: actorName(),
        notifyOnEnd: true,
      }),
    );
  }
}
