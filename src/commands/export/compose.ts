import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { exportCompose, type ExportComposeResult } from '../../definition/export-compose.js';

export default class ExportComposeCommand extends EnvctlCommand {
  static override summary = 'Write the resolved definition of an environment as a Compose file.';
  static override description =
    'Applies the environment overlay, ${VAR} interpolation, env_file, feature toggles and profiles, then writes the services, volumes and networks as a Compose file (YAML) on stdout or to -o FILE. Values are literal: every $ is written as $$, so Compose does not interpolate them again. envctl-only sections (pipeline, release, features, environments) are left out. An existing FILE is never replaced without --force (exit 2). Docker is not contacted.';
  static override examples = [
    '<%= config.bin %> export compose --env ci > compose.ci.yaml',
    '<%= config.bin %> export compose -e local -o compose.local.yaml --force',
  ];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    output: Flags.string({ char: 'o', description: 'write to this file (atomically) instead of stdout' }),
    force: Flags.boolean({ description: 'replace an existing output file', default: false }),
  };

  async run(): Promise<ExportComposeResult> {
    const { flags } = await this.parse(ExportComposeCommand);
    const result = await exportCompose({ load: this.exportingLoadOptions(flags), output: flags.output, force: flags.force });
    if (!this.jsonEnabled()) {
      this.warnDiagnostics(result.warnings);
      if (result.output === undefined) process.stdout.write(result.compose);
      else process.stderr.write(`wrote ${result.output} (${result.services.length} services, env ${result.env})\n`);
    }
    return result;
  }
}
