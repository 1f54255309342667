import { Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import { UsageError, WorkFailedError } from '../../errors.js';
import { readHealthChanges } from '../../release/controller.js';
import { readRequestLog } from '../../release/recording/files.js';
import { renderVerdictJson, replayVerdicts } from '../../release/recording/replay.js';
import { findRelease } from '../../release/release.js';
import { sanitizeLine } from '../../ui/sanitize.js';
import { readConfigLock, readLogLines, releaseDir, RELEASE_FILES } from '../../release/store.js';

export default class ReleaseJudgeCommand extends EnvctlCommand {
  static override summary = 'Re-judge a recorded release from its requests and logs, and compare with its verdict.json byte for byte.';
  static override description =
    'Runs the same pure judge on .envctl/releases/<id>/ (requests.jsonl.gz, logs.jsonl, the step times in state.json, health changes in events.jsonl) at the same instants the controller judged. Exit 0 when the verdicts are identical, 1 when they differ (the difference is shown).';
  static override examples = ['<%= config.bin %> release judge --replay r-20261126T120000Z-1a2b', '<%= config.bin %> release judge --replay r-20261126T120000Z-1a2b --json'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    replay: Flags.string({ description: 'release id to re-judge', required: true }),
  };

  async run(): Promise<{ id: string; identical: boolean | null; verdicts: unknown }> {
    const { flags } = await this.parse(ReleaseJudgeCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const state = await findRelease(model, flags.replay);
    const dir = releaseDir(model.projectDir, state.id);
    const lock = await readConfigLock(model.projectDir, state.id);
    const requests = await readRequestLog(join(dir, RELEASE_FILES.requests));
    const verdicts = replayVerdicts(requests.records, await readLogLines(model.projectDir, state.id), lock.config, lock.config.steps.length, lock.seed, {
      stepStartsNs: state.stepStartsNs,
      health: await readHealthChanges(model.projectDir, state.id),
      ...(state.endNs === null ? {} : { endNs: state.endNs }),
    });
    const replayed = renderVerdictJson(verdicts);
    const recorded = await readFile(join(dir, RELEASE_FILES.verdict), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw new WorkFailedError('RECORDING_READ', `cannot read ${join(dir, RELEASE_FILES.verdict)}: ${error.code ?? error.message}`, 'check the release folder');
    });
    if (recorded === null && state.status !== 'running' && state.status !== 'gate' && state.status !== 'preparing' && state.endNs !== null) {
      throw new UsageError('NO_VERDICT', `release ${state.id} has no verdict.json`, 'the release ended before its verdict was written');
    }
    const identical = recorded === null ? null : recorded === replayed;
    if (!this.jsonEnabled()) {
      for (const verdict of verdicts) process.stdout.write(`step ${verdict.stats.step}: ${verdict.action} — ${sanitizeLine(verdict.reasons.map((reason) => reason.message).join('; '))}\n`);
      if (identical === null) process.stdout.write(`release ${state.id} is ${state.status}: no verdict.json to compare with yet\n`);
      else if (identical) process.stdout.write(`verdict.json reproduced byte for byte (${Buffer.byteLength(replayed)} bytes)\n`);
      else process.stdout.write(`verdict.json differs from the replay:\n${firstDifference(recorded!, replayed)}\n`);
    }
    if (identical === false) process.exitCode = 1;
    return { id: state.id, identical, verdicts };
  }
}

function firstDifference(recorded: string, replayed: string): string {
  const a = recorded.split('\n');
  const b = replayed.split('\n');
  const index = a.findIndex((line, i) => line !== b[i]);
  const at = index === -1 ? Math.min(a.length, b.length) : index;
  return `  line ${at + 1}\n  recorded: ${sanitizeLine(a[at] ?? '(end)')}\n  replayed: ${sanitizeLine(b[at] ?? '(end)')}`;
}
