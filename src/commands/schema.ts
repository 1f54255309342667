import { EnvctlCommand } from '../cli/base-command.js';
import { definitionJsonSchema } from '../definition/json-schema.js';

export default class SchemaCommand extends EnvctlCommand {
  static override summary = 'Print the JSON Schema of the definition format (for editor completion).';
  static override examples = ['<%= config.bin %> schema > envctl.schema.json'];
  static override enableJsonFlag = false;

  async run(): Promise<void> {
    await this.parse(SchemaCommand);
    process.stdout.write(`${JSON.stringify(definitionJsonSchema(), null, 2)}\n`);
  }
}
