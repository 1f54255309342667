import { ExistingReleaseCommand, releaseIdArg } from '../../cli/release-existing.js';
import { EnvctlCommand } from '../../cli/base-command.js';

export default class ReleaseResumeCommand extends ExistingReleaseCommand {
  static override summary = 'Continue a release whose controller stopped (interrupted, killed, or exited 4 at a gate).';
  static override description = 'Rebuilds the judge from the release’s recording (.envctl/releases/<id>/) and carries on where it was; the proxy kept serving the last weights meanwhile. Exit codes as for `release start`.';
  static override examples = ['<%= config.bin %> release resume', '<%= config.bin %> release resume r-20261126T120000Z-1a2b'];
  static override args = releaseIdArg;
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ReleaseResumeCommand);
    return this.drive(flags, args.id, undefined);
  }
}
