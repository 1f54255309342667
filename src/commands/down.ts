import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../cli/base-command.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { downEnvironment, type DownResult } from '../engine/down.js';
import { createProgressRenderer } from '../ui/render-progress.js';
import { targetFlag } from '../cli/target-flag.js';
import { resolveTarget, runSwarmDown } from '../cli/swarm-target.js';
import type { SwarmDownResult } from '../swarm/operate.js';
import { findRunLeftovers } from '../pipeline/leftovers.js';

export default class DownCommand extends EnvctlCommand {
  static override summary = 'Remove everything the environment owns: containers, networks, and with --volumes its volumes.';
  static override description =
    'Objects are found by their envctl labels (project and environment); nothing else is ever touched. Services stop in reverse dependency order with their stop_grace_period (default 10s; services run with an init process, so SIGTERM usually ends them at once).';
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down --env ci --volumes'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    volumes: Flags.boolean({ char: 'v', description: 'also remove the named volumes (their data is lost)', default: false }),
    target: targetFlag,
  };

  async run(): Promise<DownResult | SwarmDownResult> {
    const { flags } = await this.parse(DownCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    if ((await resolveTarget(flags.target, model)) === 'swarm') return runSwarmDown(this.outputMode(), model, flags.volumes);
    const renderer = createProgressRenderer(this.outputMode(), { stderr: process.stderr });
    const engine = DockerEngine.fromEnv(process.env);
    let result: DownResult;
    try {
      result = await downEnvironment({ model, engine, volumes: flags.volumes, emit: renderer.sink, now: Date.now });
    } finally {
      await renderer.close();
    }
    // Pipeline run environments are their own projects (`<name>-it-<suffix>`): named here, removed by `envctl runs gc`.
    const leftovers = this.jsonEnabled() ? [] : await findRunLeftovers(model, engine).catch(() => []);
    if (leftovers.length > 0) {
      process.stderr.write(`note: ${leftovers.length} pipeline run environment(s) of ${model.project} are left (${leftovers.map((leftover) => leftover.project).join(', ')}): \`envctl runs gc\` removes them\n`);
    }
    return result;
  }
}
