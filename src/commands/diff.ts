import { Args } from '@oclif/core';
import { EnvctlCommand } from '../cli/base-command.js';
import { diffDefinitionEnvironments, renderDiffText, type EnvironmentDiff } from '../definition/diff.js';
import { UsageError } from '../errors.js';

const { env: _env, ...definitionFlags } = EnvctlCommand.definitionFlags;

export default class DiffCommand extends EnvctlCommand {
  static override summary = 'Show what differs between two environments of the definition.';
  static override description =
    'Resolves both environment overlays (`default` is the base definition) and compares them service by service: image (or build context and args), command, environment variables, ports, mounts, networks, dependencies, healthcheck, restart, user and the other container settings; services only in one; feature toggles, volumes and networks. Values of variables whose name contains PASSWORD, SECRET, TOKEN, KEY or CREDENTIAL are shown as ***. A report: exits 0 whether or not they differ. Nothing is changed and Docker is not contacted.';
  static override examples = ['<%= config.bin %> diff default local', '<%= config.bin %> diff ci production --json | jq .services'];
  static override args = {
    a: Args.string({ description: 'first environment (`default`: the base definition)' }),
    b: Args.string({ description: 'second environment' }),
  };
  static override flags = { ...definitionFlags };

  async run(): Promise<EnvironmentDiff> {
    const { args, flags } = await this.parse(DiffCommand);
    // Checked here rather than by oclif, whose message for missing arguments spans several lines.
    if (args.a === undefined || args.b === undefined) throw new UsageError('MISSING_ENVIRONMENTS', 'diff compares two environments: envctl diff ENV_A ENV_B', 'e.g. `envctl diff default local`; `default` is the base definition');
    const diff = await diffDefinitionEnvironments(this.loadOptions(flags), args.a, args.b);
    if (!this.jsonEnabled()) process.stdout.write(renderDiffText(diff));
    return diff;
  }
}
