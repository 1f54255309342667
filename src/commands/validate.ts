import { EnvctlCommand } from '../cli/base-command.js';
import { validateAllEnvironments } from '../definition/resolve.js';
import type { Diagnostic } from '../errors.js';

export interface ValidateResult {
  valid: true;
  file: string;
  project: string;
  environments: Array<{ env: string; services: string[] }>;
  warnings: Diagnostic[];
}

export default class ValidateCommand extends EnvctlCommand {
  static override summary = 'Check a definition and every environment overlay in it.';
  static override description =
    'Errors are printed as file:line:col with the offending text and a hint, and exit with code 2. Nothing touches Docker. With --env, only that environment is checked.';
  static override examples = ['<%= config.bin %> validate', '<%= config.bin %> validate --file compose.yaml --json'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<ValidateResult> {
    const { flags } = await this.parse(ValidateCommand);
    // A Compose file validates with the keys envctl cannot run yet named as warnings (`up` refuses them).
    const models = await validateAllEnvironments({ ...this.loadOptions(flags), unsupportedKeys: 'warn' });
    const first = models[0]!;
    const warnings = dedupe(models.flatMap((model) => model.warnings));
    if (!this.jsonEnabled()) {
      this.warnDiagnostics(warnings);
      const envs = models.map((model) => `${model.env} (${Object.keys(model.services).length} services)`).join(', ');
      process.stdout.write(`valid: ${first.project}: ${envs}\n`);
    }
    return { valid: true, file: first.file, project: first.project, environments: models.map((model) => ({ env: model.env, services: Object.keys(model.services) })), warnings };
  }
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((diagnostic) => {
    const id = `${diagnostic.line}:${diagnostic.col}:${diagnostic.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
