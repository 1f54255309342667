import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import { listRunRecords, type ReadRun } from '../../state/runs.js';

export interface RunsListResult {
  runs: Array<{ id: string; status: string; env: string; stages: string; durationMs: number | undefined } | { id: string; problem: string }>;
}

export default class RunsCommand extends EnvctlCommand {
  static override summary = 'List the pipeline runs recorded for this project, newest first.';
  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --json'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<RunsListResult> {
    const { flags } = await this.parse(RunsCommand);
    const model = await loadDefinition(this.loadOptions(flags));
    const runs = await listRunRecords(model.projectDir);
    const rows = runs.map((run: ReadRun) =>
      run.ok
        ? { id: run.record.id, status: run.record.status, env: run.record.env, stages: run.record.stages.map((stage) => `${stage.name}:${stage.status}`).join(' '), durationMs: run.record.durationMs }
        : { id: run.id, problem: run.problem },
    );
    if (!this.jsonEnabled()) {
      if (rows.length === 0) process.stdout.write('no pipeline runs recorded yet (envctl pipeline)\n');
      for (const row of rows) {
        process.stdout.write('problem' in row ? `${row.id}  unreadable: ${row.problem}\n` : `${row.id}  ${row.status.padEnd(9)} ${row.env.padEnd(8)} ${row.durationMs === undefined ? '-' : `${(row.durationMs / 1000).toFixed(1)}s`}  ${row.stages}\n`);
      }
    }
    return { runs: rows };
  }
}
