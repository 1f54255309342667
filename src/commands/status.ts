import { EnvctlCommand } from '../cli/base-command.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { environmentStatus, renderStatusText, type StatusResult } from '../engine/status.js';
import { targetFlag } from '../cli/target-flag.js';
import { resolveTarget, runSwarmStatus } from '../cli/swarm-target.js';
import type { SwarmStatusResult } from '../swarm/operate.js';

export default class StatusCommand extends EnvctlCommand {
  static override summary = 'Show each service: state, health, uptime, published ports and image.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --env ci --json | jq .services'];
  static override flags = { ...EnvctlCommand.definitionFlags, target: targetFlag };

  async run(): Promise<StatusResult | SwarmStatusResult> {
    const { flags } = await this.parse(StatusCommand);
    const model = await loadDefinition(this.loadOptions(flags));
    if ((await resolveTarget(flags.target, model)) === 'swarm') return runSwarmStatus(this.jsonEnabled(), model);
    const status = await environmentStatus(model, DockerEngine.fromEnv(process.env), Date.now);
    if (!this.jsonEnabled()) process.stdout.write(renderStatusText(status));
    return status;
  }
}
