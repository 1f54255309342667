/**
 * oclif's entry point for `bin/run.js`, bundled with the commands (scripts/bundle-cli.mjs) so the
 * CLI and its commands share one copy of @oclif/core, loaded from one chunk instead of ~160 files.
 */
export { execute } from '@oclif/core';
