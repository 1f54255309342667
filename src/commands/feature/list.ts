import { EnvctlCommand } from '../../cli/base-command.js';
import { listFeatures, renderFeatureListText, type FeatureListResult } from '../../features/toggle.js';

export default class FeatureListCommand extends EnvctlCommand {
  static override summary = 'List the feature toggles: definition value, runtime override and effective value, per environment.';
  static override description =
    'Without --env: the base definition (`default`) and every overlay of `environments:`. SERVICES are those that declare the toggle (`features: [name]` on a service) and so get FEATURE_<NAME>. Overrides come from `envctl feature enable|disable` (.envctl/features.json). Docker is not contacted.';
  static override examples = ['<%= config.bin %> feature list', '<%= config.bin %> feature list --env staging --json'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<FeatureListResult> {
    const { flags } = await this.parse(FeatureListCommand);
    const result = await listFeatures(this.loadOptions(flags));
    if (!this.jsonEnabled()) process.stdout.write(renderFeatureListText(result));
    return result;
  }
}
