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
const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });
