import { EnvctlCommand } from '../cli/base-command.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { ExitCode } from '../errors.js';
import { renderDriftText, type DriftReport } from '../plan/drift.js';
import { prepareDrift } from '../plan/prepare-plan.js';

export default class DriftCommand extends EnvctlCommand {
  static override summary = 'Show what differs between the definition and what runs; exit 1 if anything drifted.';
  static override description =
    'Observes the environment by labels and compares it with the definition: services without a container (missing), containers created from an older definition (changed, naming the fields), containers not running (state: stopped or paused outside envctl), containers whose image reference now names another image (image: rebuilt or retagged), stray and orphan containers, missing networks and volumes. Release containers are not considered. Exit codes: 0 in sync, 1 drifted, 3 no engine. Nothing is changed.';
  static override examples = ['<%= config.bin %> drift', '<%= config.bin %> drift --env staging --json | jq .items'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<DriftReport> {
    const { flags } = await this.parse(DriftCommand);
    const { model, report } = await prepareDrift({ load: this.loadOptions(flags), engine: DockerEngine.fromEnv(process.env) });
    if (!this.jsonEnabled()) {
      this.warnDiagnostics(model.warnings);
      process.stdout.write(renderDriftText(report));
    }
    process.exitCode = report.drifted ? ExitCode.failed : ExitCode.ok;
    return report;
  }
}
