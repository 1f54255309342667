import { Args } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import { UsageError, WorkFailedError } from '../../errors.js';
import { listRunRecords, readRunRecord, type RunRecord } from '../../state/runs.js';

export default class RunsShowCommand extends EnvctlCommand {
  static override summary = 'Show one recorded pipeline run: stages, results, figures and images.';
  static override examples = ['<%= config.bin %> runs show 20261126T103512Z-a1b2', '<%= config.bin %> runs show latest --json'];
  static override args = { id: Args.string({ description: 'run id, or `latest`', required: true }) };
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<RunRecord> {
    const { args, flags } = await this.parse(RunsShowCommand);
    const model = await loadDefinition(this.loadOptions(flags));
    let id = args.id;
    if (id === 'latest') {
      const newest = (await listRunRecords(model.projectDir))[0];
      if (!newest) throw new UsageError('NO_RUNS', 'no pipeline runs recorded yet', 'run `envctl pipeline` first');
      id = newest.ok ? newest.record.id : newest.id;
    }
    if (!/^[0-9TZ-]+-[0-9a-f]{4}$/.test(id)) throw new UsageError('BAD_RUN_ID', `"${id}" is not a run id`, 'see `envctl runs` for the ids');
    const run = await readRunRecord(model.projectDir, id);
    if (!run.ok) throw new WorkFailedError('RUN_UNREADABLE', `run ${id} cannot be read: ${run.problem}`, `the record is ${run.path}; nothing was changed`);
    if (!this.jsonEnabled()) process.stdout.write(renderRun(run.record));
    return run.record;
  }
}

function renderRun(record: RunRecord): string {
  const lines = [`run ${record.id}: ${record.status} — ${record.project} (env ${record.env})${record.durationMs === undefined ? '' : ` in ${(record.durationMs / 1000).toFixed(1)}s`}${record.ci ? ' [CI]' : ''}`];
  for (const [service, image] of Object.entries(record.images)) lines.push(`  image ${service}: ${image}`);
  for (const stage of record.stages) {
    lines.push(`  ${stage.name}: ${stage.status}${stage.durationMs === undefined ? '' : ` (${(stage.durationMs / 1000).toFixed(1)}s)`}${stage.detail ? ` — ${stage.detail}` : ''}`);
    for (const result of stage.results) lines.push(`    ${result.status === 'passed' ? '✓' : result.status === 'failed' ? '✗' : '-'} ${result.name}${result.detail ? `: ${result.detail}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
