import { ExistingReleaseCommand, releaseIdArg } from '../../cli/release-existing.js';
import { EnvctlCommand } from '../../cli/base-command.js';

export default class ReleaseApproveCommand extends ExistingReleaseCommand {
  static override summary = 'Approve a release waiting at a manual gate (continuous delivery).';
  static override description =
    'When the release’s controller runs (another terminal), it takes the approval within a second. When none runs (`release start` exited 4 at the gate), this command continues the release itself until it ends or meets the next gate. Exit codes as for `release start`.';
  static override examples = ['<%= config.bin %> release approve', '<%= config.bin %> release approve r-20261126T120000Z-1a2b'];
  static override args = releaseIdArg;
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ReleaseApproveCommand);
    return this.drive(flags, args.id, 'approve');
  }
}
