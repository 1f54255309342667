/** What `envctl feature enable` and `feature disable` share: one toggle set for a running environment. */
import { Args } from '@oclif/core';
import { parseDurationMs } from '../definition/values.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { ExitCode } from '../errors.js';
import { setFeature, type SetFeatureResult } from '../features/toggle.js';
import { createProgressRenderer } from '../ui/render-progress.js';
import { durationFlag, EnvctlCommand } from './base-command.js';
import { runCancellable, sleep } from './cancellation.js';
import { writeFailedServices } from './service-failures.js';

const featureArgs = { name: Args.string({ description: 'the toggle, as declared under `features:`', required: true }) };
const featureFlags = {
  ...EnvctlCommand.definitionFlags,
  'wait-timeout': durationFlag({ description: 'how long each recreated service may take to become ready (e.g. 90s, 5m)', default: parseDurationMs('2m') }),
};

export abstract class SetFeatureCommand extends EnvctlCommand {
  static featureArgs = featureArgs;
  static featureFlags = featureFlags;

  /** true for `enable`, false for `disable`. */
  protected abstract readonly value: boolean;

  async run(): Promise<SetFeatureResult> {
    const { args, flags } = await this.parse(this.constructor as typeof EnvctlCommand & { args: typeof featureArgs; flags: typeof featureFlags });
    const renderer = createProgressRenderer(this.outputMode(), { stderr: process.stderr });
    const result: SetFeatureResult = await runCancellable(renderer, 'letting running operations finish', (signal) =>
      setFeature({
        // It acts on the engine: a definition from elsewhere must be trusted first (`envctl trust`).
        load: this.actingLoadOptions(flags),
        engine: DockerEngine.fromEnv(process.env),
        feature: args.name,
        value: this.value,
        emit: renderer.sink,
        signal,
        waitTimeoutMs: flags['wait-timeout'],
        now: Date.now,
        sleep,
      }),
    );
    if (!this.jsonEnabled()) {
      writeFailedServices(result.services);
      process.stdout.write(`${describeChange(result)}\n`);
    }
    process.exitCode = result.cancelled ? ExitCode.cancelled : result.ok ? ExitCode.ok : ExitCode.failed;
    return result;
  }
}

export function describeChange(result: SetFeatureResult): string {
  const state = (value: boolean) => (value ? 'enabled' : 'disabled');
  const what = result.changed ? `${state(result.to)} (was ${state(result.from)})` : `already ${state(result.to)}`;
  const where = !result.running
    ? 'the environment is not running: applies at the next `envctl up`'
    : result.recreated.length > 0
      ? `recreated: ${result.recreated.join(', ')}`
      : result.affected.length > 0
        ? `up to date: ${result.affected.join(', ')}`
        : 'no service declares it';
  return `${result.feature} ${what} in ${result.project} (env ${result.env}); ${where}`;
}
