import { Args, Flags } from '@oclif/core';
import { EnvctlCommand } from '../cli/base-command.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { UsageError, WorkFailedError } from '../errors.js';
import { environmentLabels, LABEL } from '../labels.js';
import { resolveTarget } from '../cli/swarm-target.js';
import { targetFlag } from '../cli/target-flag.js';
import type { EnvironmentModel } from '../definition/model.js';
import { SwarmDockerEngine } from '../engine/swarm-docker.js';
import type { ObservedContainer } from '../engine/types.js';
import { swarmTaskContainer } from '../swarm/operate.js';

export default class ExecCommand extends EnvctlCommand {
  static override summary = 'Run a command in a running service, passing its exit code through.';
  static override description =
    'With a terminal, the command gets a TTY and your keystrokes; without one (pipes, CI) its output is passed through as it is. On a swarm stack (--target swarm, or found by itself as status does) it runs in a task of the service on this node.';
  static override examples = ['<%= config.bin %> exec db -- psql -U app -c "select 1"', '<%= config.bin %> exec web -- sh', 'echo ping | <%= config.bin %> exec cache -T -- redis-cli', '<%= config.bin %> exec api --target swarm -- node --version'];
  static override strict = false;
  static override enableJsonFlag = false;
  static override args = { service: Args.string({ description: 'the service', required: true }) };
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    'no-tty': Flags.boolean({ char: 'T', description: 'do not allocate a TTY even on a terminal', default: false }),
    user: Flags.string({ char: 'u', description: 'run as this user' }),
    workdir: Flags.string({ char: 'w', description: 'working directory inside the container' }),
    target: targetFlag,
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ExecCommand);
    const command = (argv as string[]).slice(1);
    if (command.length === 0) throw new UsageError('NO_COMMAND', 'no command given', 'write the command after --, e.g. `envctl exec web -- sh`');
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    if (!(args.service in model.services)) throw new UsageError('UNKNOWN_SERVICE', `no service "${args.service}" in ${model.project}`, `services: ${Object.keys(model.services).join(', ')}`);
    const engine = DockerEngine.fromEnv(process.env);
    await engine.ping();
    const target = (await resolveTarget(flags.target, model)) === 'swarm' ? await swarmTaskContainer(model, SwarmDockerEngine.fromEnv(process.env), engine, args.service) : await localContainer(engine, model, args.service);
    const tty = !flags['no-tty'] && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY);
    // Forward stdin when it is a terminal or a pipe/file; CI's closed stdin gives the command EOF.
    const stdin = tty || !process.stdin.isTTY ? process.stdin : undefined;
    if (tty) process.stdin.setRawMode(true);
    try {
      const code = await engine.exec(target.id, {
        command,
        tty,
        stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        user: flags.user,
        workdir: flags.workdir,
        size: tty ? { columns: process.stdout.columns, rows: process.stdout.rows } : undefined,
        onResize: tty ? (listener) => process.stdout.on('resize', () => listener({ columns: process.stdout.columns, rows: process.stdout.rows })) : undefined,
      });
      process.exitCode = code;
    } finally {
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
}

/** The service's own running container, not a release's canary or baseline. */
async function localContainer(engine: DockerEngine, model: EnvironmentModel, service: string): Promise<ObservedContainer> {
  const containers = await engine.listContainers(environmentLabels(model.project, model.env));
  const target = containers.find((container) => container.service === service && !container.labels[LABEL.slot] && container.state === 'running');
  if (!target) throw new WorkFailedError('NOT_RUNNING', `service ${service} is not running`, 'start it with `envctl up`');
  return target;
}
