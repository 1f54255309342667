import { ExistingReleaseCommand, releaseIdArg } from '../../cli/release-existing.js';
import { EnvctlCommand } from '../../cli/base-command.js';

export default class ReleaseAbortCommand extends ExistingReleaseCommand {
  static override summary = 'End a release in progress: all traffic back to production, the canary and baseline removed.';
  static override description = 'Works at any step and at a gate, whether or not its controller runs. Exit 1 (the release did not promote).';
  static override examples = ['<%= config.bin %> release abort', '<%= config.bin %> release abort r-20261126T120000Z-1a2b'];
  static override args = releaseIdArg;
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ReleaseAbortCommand);
    return this.drive(flags, args.id, 'abort');
  }
}
