import { EnvctlCommand } from '../cli/base-command.js';
import { actorName } from '../cli/release-support.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { UsageError } from '../errors.js';
import { runMonitor } from '../monitor/run-monitor.js';

export default class MonitorCommand extends EnvctlCommand {
  static override summary = 'Full-screen dashboard: services (health, CPU, memory, ports), merged logs, the release and the latest pipeline run; keys to act.';
  static override description =
    'Needs a terminal. Keys: Tab moves between panes, ↑/↓ select, l shows the selected service’s logs, / filters the logs, f follows or pauses them, r restarts the selected service, a approves a release waiting at a gate, b rolls the release back, +/- nudge the canary weight after a release ended, ? help, q quits. Destructive actions ask first. For scripts: `envctl status --json`, `envctl logs`, `envctl proxy status --json`, `envctl release status --json`.';
  static override examples = ['<%= config.bin %> monitor', '<%= config.bin %> monitor --env staging'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(MonitorCommand);
    if (this.jsonEnabled() || !process.stdout.isTTY || !process.stdin.isTTY) {
      throw new UsageError(
        'MONITOR_NEEDS_TTY',
        'envctl monitor is an interactive dashboard: it needs a terminal on stdin and stdout (and has no --json form)',
        'for scripts and pipes use `envctl status --json`, `envctl logs`, `envctl proxy status --json` and `envctl release status --json`',
      );
    }
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const engine = DockerEngine.fromEnv(process.env);
    await engine.ping();
    const definitionArgs = [
      ...(flags.file ?? []).flatMap((file) => ['--file', file]),
      ...(flags.env ? ['--env', flags.env] : []),
      ...(flags['project-name'] ? ['--project-name', flags['project-name']] : []),
    ];
    process.exitCode = await runMonitor({
      model,
      engine,
      terminal: { stdout: process.stdout, stdin: process.stdin },
      cli: { command: process.execPath, args: process.argv[1] ? [process.argv[1]] : [] },
      definitionArgs,
      actor: actorName(),
      env: process.env,
      now: Date.now,
    });
  }
}
