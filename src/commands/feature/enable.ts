import { SetFeatureCommand } from '../../cli/feature-command.js';

export default class FeatureEnableCommand extends SetFeatureCommand {
  static override summary = 'Turn a feature toggle on for an environment, recreating only the services that declare it.';
  static override description =
    'Writes the override to .envctl/features.json (a later `envctl up` keeps it), records the change in .envctl/feature-history.jsonl (time, environment, old → new, user@host), and recreates the services that declare the toggle (`features: [name]`) with FEATURE_<NAME>=true; other services are not touched. When nothing of the environment runs, the toggle applies at the next `up`. Exit codes: 0 done, 1 a recreated service failed, 2 unknown toggle (with a did-you-mean), 3 no engine or the environment is locked.';
  static override examples = ['<%= config.bin %> feature enable new-checkout', '<%= config.bin %> feature enable new-checkout --env staging --json'];
  static override args = SetFeatureCommand.featureArgs;
  static override flags = SetFeatureCommand.featureFlags;
  protected readonly value = true;
}
