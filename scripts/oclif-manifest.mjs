// Writes oclif.manifest.json (the command list with flags) so the CLI starts without importing
// every command module: `envctl --version` and `--help` then load no Docker or UI code.
import { rmSync, writeFileSync } from 'node:fs';
import { Config } from '@oclif/core';

const root = new URL('..', import.meta.url).pathname;
// oclif reads an existing manifest instead of the commands: start from the compiled commands.
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
const config = await Config.load({ root, devPlugins: false, userPlugins: false });
const plugin = config.getPluginsList().find((candidate) => candidate.isRoot);
if (!plugin) throw new Error('root plugin not found');
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(plugin.manifest, null, 2)}\n`);
console.error(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`);
