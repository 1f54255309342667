#!/usr/bin/env node
import module from 'node:module';

// Cache compiled modules between runs (Node >= 22.1): a CLI pays its start-up on every command.
module.enableCompileCache?.();

// On import oclif checks Node against its own `engines` with semver (47 files, a tenth of
// `envctl --version`); the same check on the major version costs nothing. Set before the import.
if (Number(process.versions.node.split('.', 1)[0]) < 22) {
  process.emitWarning(`Node version must be >=22 to use this CLI. Current node version: ${process.versions.node}`);
}
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1';

// `envctl --version` alone: scripts call it to check the install, so it answers without loading
// oclif (the same line oclif prints: name/version platform-arch node-version).
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { readFileSync } = await import('node:fs');
  const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  // oclif bundled with the commands (one shared copy, one chunk: scripts/bundle-cli.mjs).
  const { execute } = await import('../dist/bundled/cli/oclif-runtime.js');
  await execute({ dir: import.meta.url });
}
