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

// A reader that went away (`envctl logs -f | head`) makes stdout's writes fail with EPIPE. The CLI
// then stops at once with 141 (128 + SIGPIPE), as git and the Go CLIs do: the status a shell
// shows for a writer ended by the pipe, so `set -o pipefail` scripts see it. Without this Node
// printed the error, or (after `--help`, whose last step waits for stdout to drain) warned of an
// unsettled top-level await and exited 13.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(141);
});

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
