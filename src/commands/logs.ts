import { Args, Flags } from '@oclif/core';
import { styleText } from 'node:util';
import { EnvctlCommand } from '../cli/base-command.js';
import { cancelOnSignals } from '../cli/cancellation.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { collectLogs, followLogs, parseSince, type ServiceLogLine } from '../engine/logs.js';
import { ExitCode, UsageError } from '../errors.js';
import { sanitizeTerminalText } from '../ui/sanitize.js';
import { targetFlag } from '../cli/target-flag.js';
import { SwarmDockerEngine } from '../engine/swarm-docker.js';
import { collectSwarmLogs, followSwarmLogs } from '../swarm/operate.js';
import { resolveTarget } from '../cli/swarm-target.js';

const SERVICE_COLORS = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red'] as const;

export default class LogsCommand extends EnvctlCommand {
  static override summary = 'Show the merged logs of the services, prefixed with the service name.';
  static override description =
    'Without --follow, the lines of all selected services are merged in time order. With --follow, new lines are shown as they come until Ctrl-C. Terminal escape sequences from containers are removed.';
  static override examples = ['<%= config.bin %> logs', '<%= config.bin %> logs web worker --tail 50', '<%= config.bin %> logs web --follow --since 10m'];
  static override strict = false;
  static override args = { service: Args.string({ description: 'services to show (default: all)', required: false }) };
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    follow: Flags.boolean({ char: 'F', description: 'keep following new output', default: false }),
    tail: Flags.integer({ char: 'n', description: 'lines per service to show from the end', min: 0 }),
    since: Flags.string({ description: 'only lines newer than a duration (10m, 1h30m) or a time (RFC 3339)' }),
    timestamps: Flags.boolean({ char: 't', description: 'show the engine timestamp of each line', default: false }),
    target: targetFlag,
  };

  async run(): Promise<{ lines: ServiceLogLine[] } | undefined> {
    const { flags, argv } = await this.parse(LogsCommand);
    if (flags.follow && this.jsonEnabled()) throw new UsageError('BAD_FLAGS', '--follow and --json cannot be combined', 'use --json without --follow for a snapshot');
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const engine = DockerEngine.fromEnv(process.env);
    const selection = { services: argv as string[], tail: flags.tail, since: flags.since ? parseSince(flags.since, Date.now()) : 0 };
    // --target swarm: the services' logs (all their tasks), from the swarm.
    const swarm = (await resolveTarget(flags.target, model)) === 'swarm' ? SwarmDockerEngine.fromEnv(process.env) : undefined;
    const collect = () => (swarm ? collectSwarmLogs(model, swarm, selection) : collectLogs(model, engine, selection));
    const follow = (signal: AbortSignal) => (swarm ? followSwarmLogs(model, swarm, selection, signal) : followLogs(model, engine, selection, signal));
    const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
    const width = Math.max(0, ...Object.keys(model.services).map((name) => name.length));
    const palette = new Map(Object.keys(model.services).map((name, index) => [name, SERVICE_COLORS[index % SERVICE_COLORS.length]!]));
    const format = (line: ServiceLogLine) => {
      const prefix = `${line.service.padEnd(width)} |`;
      const time = flags.timestamps && line.time ? `${line.time} ` : '';
      return `${color ? styleText(palette.get(line.service) ?? 'white', prefix) : prefix} ${time}${sanitizeTerminalText(line.text)}\n`;
    };
    if (!flags.follow) {
      const lines = await collect();
      if (this.jsonEnabled()) return { lines: lines.map((line) => ({ ...line, text: sanitizeTerminalText(line.text) })) };
      for (const line of lines) process.stdout.write(format(line));
      return undefined;
    }
    const cancellation = cancelOnSignals(() => undefined);
    try {
      for await (const line of follow(cancellation.signal)) process.stdout.write(format(line));
    } finally {
      cancellation.dispose();
    }
    if (cancellation.signal.aborted) process.exitCode = ExitCode.cancelled;
    return undefined;
  }
}
