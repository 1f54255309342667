import { SetFeatureCommand } from '../../cli/feature-command.js';

export default class FeatureDisableCommand extends SetFeatureCommand {
  static override summary = 'Turn a feature toggle off for an environment, recreating only the services that declare it.';
  static override description =
    'The opposite of `envctl feature enable`: writes the override (dropped when it equals the definition), records the change and recreates only the services that declare the toggle, with FEATURE_<NAME>=false. Exit codes: 0 done, 1 a recreated service failed, 2 unknown toggle, 3 no engine or the environment is locked.';
  static override examples = ['<%= config.bin %> feature disable new-checkout', '<%= config.bin %> feature disable new-checkout --env staging'];
  static override args = SetFeatureCommand.featureArgs;
  static override flags = SetFeatureCommand.featureFlags;
  protected readonly value = false;
}
