#!/usr/bin/env node
import module from 'node:module';

// Cache compiled modules between runs (Node >= 22.1): a CLI pays its start-up on every command.
module.enableCompileCache?.();

// On import oclif checks Node against its own `engines` with semver; the same check on the major
// version costs nothing (and oclif's, bundled, would not find its package.json). Set before the import.
if (Number(process.versions.node.split('.', 1)[0]) < 22) {
  process.emitWarning(`Node version must be >=22 to use this CLI. Current node version: ${process.versions.node}`);
}
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1';

// A reader that went away (`envctl logs -f | head`, `envctl up 2>&1 | head`) makes the writes to
// stdout or stderr fail with EPIPE. The CLI then stops at once with 141 (128 + SIGPIPE,
// ExitCode.brokenPipe), as git and the Go CLIs do: the status a shell shows for a writer ended by
// the pipe, so `set -o pipefail` scripts see it; a command that had already set its status keeps
// it. Without this Node printed the error and exited 1, or (after `--help`, whose last step waits
// for stdout to drain) warned of an unsettled top-level await and exited 13. Any other failure to
// write (a full disk behind `> file`) is an environment problem: one line, exit 3.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 141);
    if (stream === process.stdout) process.stderr.write(`error: cannot write the output: ${error.message}\n`);
    process.exit(3);
  });
}

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
