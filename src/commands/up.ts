import { Flags } from '@oclif/core';
import { durationFlag, EnvctlCommand } from '../cli/base-command.js';
import { runCancellable, sleep } from '../cli/cancellation.js';
import { parseDurationMs } from '../definition/values.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { upEnvironment, type UpResult } from '../engine/up.js';
import { ExitCode, UsageError } from '../errors.js';
import { createProgressRenderer } from '../ui/render-progress.js';
import { registryFlag, targetFlag } from '../cli/target-flag.js';
import type { SwarmUpResult } from '../swarm/deploy.js';
import { writeFailedServices, writeSkippedServices } from '../cli/service-failures.js';

export default class UpCommand extends EnvctlCommand {
  static override summary = 'Bring the environment up: build what changed, start services in dependency order, wait until they are ready.';
  static override description =
    'Only what the plan says changes: unchanged services are kept (a second `up` makes no Docker writes), changed ones are recreated. Fails (exit 1) with the service, its state and its last log lines if a service exits, turns unhealthy, crash-loops or is not ready within --wait-timeout; its dependants are not started. Ctrl-C stops scheduling and exits 130; a second Ctrl-C exits at once.';
  static override examples = ['<%= config.bin %> up', '<%= config.bin %> up --env ci --wait-timeout 3m', '<%= config.bin %> up --remove-orphans --json', '<%= config.bin %> up --target swarm', '<%= config.bin %> up --target swarm --registry registry.example.com:5000'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    'wait-timeout': durationFlag({ description: 'how long each service may take to become ready (e.g. 90s, 5m)', default: parseDurationMs('2m') }),
    'remove-orphans': Flags.boolean({ description: 'remove containers and networks of services no longer in the definition', default: false }),
    locked: Flags.boolean({ description: 'refuse to run unless every service\'s image is the one envctl.lock names (exit 1 naming the differences, 2 without a lock)', default: false }),
    target: targetFlag,
    registry: registryFlag,
  };

  async run(): Promise<UpResult | SwarmUpResult> {
    const { flags } = await this.parse(UpCommand);
    const waitTimeoutMs = flags['wait-timeout'];
    if (flags.target === 'swarm') {
      if (flags.locked) throw new UsageError('BAD_FLAGS', '--locked applies to the local target for now', 'drop --locked, or run `envctl up --locked` without --target swarm');
      // Loaded on use: the swarm code is no part of a local `up`'s start.
      const { runSwarmUp } = await import('../cli/swarm-target.js');
      return runSwarmUp(this.outputMode(), { load: this.loadOptions(flags), registry: flags.registry, removeOrphans: flags['remove-orphans'], waitTimeoutMs });
    }
    if (flags.registry !== undefined) throw new UsageError('BAD_FLAGS', '--registry applies to --target swarm', 'add --target swarm, or drop --registry (the local target uses the images on this engine)');
    const renderer = createProgressRenderer(this.outputMode(), { stderr: process.stderr });
    const result: UpResult = await runCancellable(renderer, 'letting running operations finish', (signal) =>
      upEnvironment({
        load: this.actingLoadOptions(flags),
        engine: DockerEngine.fromEnv(process.env),
        removeOrphans: flags['remove-orphans'],
        locked: flags.locked,
        waitTimeoutMs,
        emit: renderer.sink,
        signal,
        now: Date.now,
        sleep,
      }),
    );
    if (!this.jsonEnabled()) {
      writeFailedServices(result.services);
      writeSkippedServices(result.services);
    }
    process.exitCode = result.cancelled ? ExitCode.cancelled : result.ok ? ExitCode.ok : ExitCode.failed;
    return result;
  }
}
