/**
 * definition-bomb: envctl alone (no peer). reliability.md row 29, "billion-laughs fixture → error
 * in under 1 s" (test/faults/yaml-bomb.test.ts checks the error and the memory bound; the time is
 * measured here, since timings are not tests):
 *
 * - **validate billion-laughs: spawn → exit 2**: `envctl validate -f billion-laughs.yaml` as a user
 *   runs it (`CI=true`), process start included; the sample counts only when it exits 2 with
 *   ALIAS_LIMIT's message.
 * - **load billion-laughs (in process)**: `loadDefinition` of the built loader
 *   (dist/definition/resolve.js) in this process, after the warm-up: the loader's own cost.
 *
 * No Docker needed. The notes give the loader's resident-set growth of the last sample.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { SampleBook } from '../lib/measure.mjs';

/** reliability.md row 29. */
export const BOMB_TARGET_MS = 1_000;
const FIXTURE = 'billion-laughs.yaml';
const M = {
  cli: 'validate billion-laughs: spawn → exit 2',
  load: 'load billion-laughs (in process)',
};

export const definitionBomb = {
  name: 'definition-bomb',
  summary: 'envctl only: the billion-laughs definition refused (`envctl validate`, spawn → exit 2; the built loader in process)',

  async run(ctx) {
    const fixtures = join(ctx.repoDir, 'test/fixtures/invalid');
    const { loadDefinition } = await import(pathToFileURL(join(ctx.repoDir, 'dist/definition/resolve.js')).href);
    const book = new SampleBook();
    let growth = 0;
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      ctx.signal.throwIfAborted();
      const warmup = rep === 0;
      ctx.progress(`definition-bomb ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}`);
      let started = performance.now();
      const cli = await execa(process.execPath, [ctx.envctlBin, 'validate', '-f', FIXTURE], { cwd: fixtures, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, reject: false, stdin: 'ignore', cancelSignal: ctx.signal, timeout: 60_000, all: true });
      const cliMs = Math.round(performance.now() - started);
      const refused = cli.exitCode === 2 && /too many alias expansions/.test(cli.all ?? '');
      book.add(M.cli, 'envctl', cliMs, { warmup, excluded: refused ? undefined : `exit ${cli.exitCode}, not the alias-limit error` });

      const rssBefore = process.memoryUsage().rss;
      started = performance.now();
      const code = await loadDefinition({ cwd: fixtures, file: FIXTURE, processEnv: {} }).then(() => 'loaded', (error) => error.code);
      const loadMs = Math.round((performance.now() - started) * 100) / 100;
      growth = process.memoryUsage().rss - rssBefore;
      book.add(M.load, 'envctl', loadMs, { warmup, excluded: code === 'ALIAS_LIMIT' ? undefined : `ended with ${code}, not ALIAS_LIMIT` });
    }
    return {
      name: this.name,
      summary: this.summary,
      notes: ['no peer: envctl-only figures', `resident set growth of the last in-process load: ${(growth / 1024 / 1024).toFixed(2)} MB (bound tested: 50 MB)`],
      measurements: [
        { name: M.cli, what: 'the built CLI refusing test/fixtures/invalid/billion-laughs.yaml (exit 2, ALIAS_LIMIT)', unit: 'ms', envctl: book.side(M.cli, 'envctl'), peer: null },
        { name: M.load, what: 'loadDefinition of the same file, in process, modules warm', unit: 'ms', envctl: book.side(M.load, 'envctl'), peer: null },
      ],
    };
  },
};
