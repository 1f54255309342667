import { join } from 'node:path';
import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { actorName } from '../../cli/release-support.js';
import { loadDefinition } from '../../definition/resolve.js';
import { UsageError, WorkFailedError } from '../../errors.js';
import { formatWeights, parseWeights } from '../../proxy/routing.js';
import type { Weights } from '../../proxy/types.js';
import { openEventLog } from '../../release/recording/files.js';
import { ACTIVE_STATUSES, RELEASE_FILES, releaseDir, type ReleaseStatus } from '../../release/store.js';
import { askProxy, findReleaseProxy, proxyFlags } from './status.js';

export interface ProxyWeightsOutput {
  release: string;
  releaseStatus: ReleaseStatus;
  url: string;
  /** In force now (after `--set`, the ones set). */
  weights: Weights;
  step: number;
  /** What the release's state.json records (the controller's last weights). */
  recordedWeights: Weights;
  /** With `--set`: the split before, and when the new one took effect (the proxy's monotonic ns). */
  change?: { previous: Weights; appliedNs: string; forced: boolean };
}

export default class ProxyWeightsCommand extends EnvctlCommand {
  static override summary = 'Show the proxy’s live split, or set it by hand with --set.';
  static override description =
    'While a release runs (running, gate) its controller sets the weights at every step, so --set is refused there unless --force: use `envctl release approve` or `envctl release abort` instead. A change is appended to the release’s events.jsonl (event "weights", with who made it); state.json keeps the weights the controller last set.';
  static override examples = [
    '<%= config.bin %> proxy weights',
    '<%= config.bin %> proxy weights --set canary=10,baseline=10,prod=80',
    '<%= config.bin %> proxy weights --set canary=0,baseline=0,prod=100 --release r-20261126T120000Z-1a2b',
  ];
  static override flags = {
    ...proxyFlags,
    set: Flags.string({ description: 'new split: all three arms as integer percentages summing to 100', helpValue: 'canary=N,baseline=N,prod=N' }),
    force: Flags.boolean({ description: 'with --set: set the weights even while the release’s controller drives them', default: false }),
  };

  async run(): Promise<ProxyWeightsOutput> {
    const { flags } = await this.parse(ProxyWeightsCommand);
    // Bad input fails before anything is read. (Not oclif's `dependsOn`: its message spans lines.)
    if (flags.force && flags.set === undefined) throw new UsageError('BAD_FLAG', '--force only applies with --set', 'give the new split, like --set canary=10,baseline=10,prod=80 --force');
    const wanted = flags.set === undefined ? undefined : parseWeightsFlag(flags.set);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const target = await findReleaseProxy(model, flags.release);
    const { release } = target;
    const before = await askProxy(target, (admin) => admin.status());
    const base = { release: release.id, releaseStatus: release.status, url: target.url, recordedWeights: release.weights };
    if (!wanted) {
      const output: ProxyWeightsOutput = { ...base, weights: before.weights, step: before.step };
      if (!this.jsonEnabled()) process.stdout.write(renderWeights(output));
      return output;
    }
    const controlled = ACTIVE_STATUSES.has(release.status);
    if (controlled && !flags.force) {
      throw new UsageError(
        'RELEASE_DRIVES_WEIGHTS',
        `release ${release.id} is ${release.status}: its controller sets the weights at every step`,
        'use `envctl release approve` to go on or `envctl release abort` to stop; --force sets them anyway (the controller replaces them at its next step)',
      );
    }
    if (controlled && wanted.canary !== wanted.baseline) {
      process.stderr.write(`warning: canary ${wanted.canary}% ≠ baseline ${wanted.baseline}%: the analysis compares the two arms on equal shares, so this step's verdicts are biased\n`);
    }
    const applied = await askProxy(target, (admin) => admin.setWeights(wanted));
    const eventsPath = join(releaseDir(model.projectDir, release.id), RELEASE_FILES.events);
    await recordChange(eventsPath, {
      release: release.id,
      event: 'weights',
      at: new Date().toISOString(),
      actor: actorName(),
      step: applied.step,
      weights: applied.weights,
      previous: before.weights,
      status: release.status,
      forced: controlled,
      tMonoNs: applied.appliedNs,
    });
    const output: ProxyWeightsOutput = { ...base, weights: applied.weights, step: applied.step, change: { previous: before.weights, appliedNs: applied.appliedNs, forced: controlled } };
    if (!this.jsonEnabled()) process.stdout.write(renderWeights(output));
    return output;
  }
}

/** `--set`: a UsageError (exit 2) naming what is wrong. */
export function parseWeightsFlag(text: string): Weights {
  try {
    return parseWeights(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError('BAD_WEIGHTS', `--set: ${error.message}`, 'give all three arms as integer percentages summing to 100, like --set canary=10,baseline=10,prod=80');
  }
}

/** The proxy already uses the new weights; a failed append must say so rather than look like nothing happened. */
async function recordChange(path: string, event: Record<string, unknown>): Promise<void> {
  try {
    const log = await openEventLog(path);
    try {
      await log.append(event);
    } finally {
      await log.close();
    }
  } catch (error) {
    throw new WorkFailedError(
      'WEIGHTS_NOT_RECORDED',
      `the proxy now uses ${formatWeights(event.weights as Weights)}, but the change could not be recorded in ${path}: ${(error as Error).message}`,
      'check the permissions and free space of the .envctl folder',
      error,
    );
  }
}

function renderWeights(output: ProxyWeightsOutput): string {
  const lines: string[] = [];
  if (output.change) {
    lines.push(`weights  ${formatWeights(output.weights)}  (was ${formatWeights(output.change.previous)})`);
    lines.push(`release  ${output.release} (${output.releaseStatus}), step ${output.step}: the change is recorded in its events.jsonl`);
  } else {
    lines.push(`weights  ${formatWeights(output.weights)}`);
    lines.push(`release  ${output.release} (${output.releaseStatus}), step ${output.step}, proxy ${output.url}`);
  }
  if (formatWeights(output.weights) !== formatWeights(output.recordedWeights)) {
    lines.push(`note     the release records ${formatWeights(output.recordedWeights)} (what \`envctl release status\` shows): the live split was changed since, e.g. by \`proxy weights --set\``);
  }
  return `${lines.join('\n')}\n`;
}
