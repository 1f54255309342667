import { EnvctlCommand } from '../cli/base-command.js';
import { loadDefinition } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { environmentStatus, renderStatusText, type StatusResult } from '../engine/status.js';

export default class StatusCommand extends EnvctlCommand {
  static override summary = 'Show each service: state, health, uptime, published ports and image.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --env ci --json | jq .services'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<StatusResult> {
    const { flags } = await this.parse(StatusCommand);
    const model = await loadDefinition(this.loadOptions(flags));
    const status = await environmentStatus(model, DockerEngine.fromEnv(process.env), Date.now);
    if (!this.jsonEnabled()) process.stdout.write(renderStatusText(status));
    return status;
  }
}
