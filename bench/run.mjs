#!/usr/bin/env node
/**
 * envctl's benchmark: each scenario against envctl and, where there is one, the peer doing the
 * same work on the same machine in the same run (interleaved, 1 warm-up + N reps), then
 * bench/results/<start time>.json (every sample) and .md (medians and ratios envctl / peer).
 * Timings never go into tests. See bench/README.md.
 *
 *   node bench/run.mjs [--quick] [--reps N] [--only SCENARIO]...
 *
 * Exit codes: 0 ok, 1 a scenario failed (the others are still reported), 2 bad flags or the CLI
 * is not built, 3 no Docker engine or base image, 130 interrupted (everything is still removed).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureCompose } from './lib/compose.mjs';
import { connectDocker } from './lib/docker.mjs';
import { describeMachine } from './lib/machine.mjs';
import { judgeTargets, renderMarkdown, withStatistics, writeReport } from './lib/report.mjs';
import { BenchResources } from './lib/resources.mjs';
import { TOPOLOGY_IMAGE } from './lib/topology.mjs';
import { cliStart } from './scenarios/cli-start.mjs';
import { definitionBomb } from './scenarios/definition-bomb.mjs';
import { demo } from './scenarios/demo.mjs';
import { pipeline } from './scenarios/pipeline.mjs';
import { proxy } from './scenarios/proxy.mjs';
import { release } from './scenarios/release.mjs';
import { releaseJudge } from './scenarios/release-judge.mjs';
import { scale } from './scenarios/scale.mjs';
import { topology10 } from './scenarios/topology-10.mjs';

const SCENARIOS = [topology10, demo, cliStart, scale, proxy, pipeline, releaseJudge, definitionBomb, release];
/** Scenarios with a docker-compose side: docker-compose is only looked for (and installed) for them. */
const NEEDS_COMPOSE = new Set([topology10.name, cliStart.name]);
const DEFAULT_REPS = 5;
const QUICK_REPS = 3;

const USAGE = `usage: node bench/run.mjs [--quick] [--reps N] [--only SCENARIO]...
  --quick          ${QUICK_REPS} reps instead of ${DEFAULT_REPS}, and without the release scenario unless --only names it
                   (~4.5 minutes on 2 cores; release alone is one ~5.5-minute pass whatever the reps)
  --reps N         measured repetitions per scenario, after 1 warm-up
  --only SCENARIO  run only this scenario (repeatable, or comma-separated): ${SCENARIOS.map((s) => s.name).join(', ')}`;

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const REPO_DIR = join(BENCH_DIR, '..');

function log(line) {
  process.stderr.write(`bench: ${line}\n`);
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean', default: false }, reps: { type: 'string' }, only: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
  });
  if (values.help) return { help: true };
  const reps = values.reps === undefined ? (values.quick ? QUICK_REPS : DEFAULT_REPS) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a whole number ≥ 1, not "${values.reps}"`);
  const only = (values.only ?? []).flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean);
  const unknown = only.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return { quick: values.quick, reps, only };
}

/** Newest modification time (ms) of the files under a directory. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    log(`error: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const envctlBin = join(REPO_DIR, 'bin/run.js');
  if (!existsSync(join(REPO_DIR, 'dist/commands'))) {
    log('error: the CLI is not built: run `npm run build` first');
    return 2;
  }
  const distBuiltAt = newestMtime(join(REPO_DIR, 'dist'));
  if (newestMtime(join(REPO_DIR, 'src')) > distBuiltAt) log('warning: dist/ is older than src/: this measures the last build (`npm run build` to measure the sources)');

  const docker = connectDocker();
  try {
    await docker.ping();
  } catch (error) {
    log(`error: no Docker engine (${error.message}): run \`npm run setup\` as root`);
    return 3;
  }
  if ((await docker.listImages({ filters: { reference: [TOPOLOGY_IMAGE] } })).length === 0) {
    log(`error: image ${TOPOLOGY_IMAGE} is missing: run \`npm run setup\` (builds the base images locally)`);
    return 3;
  }

  const chosen = SCENARIOS.filter((scenario) => options.only.length === 0 || options.only.includes(scenario.name));
  // --quick stays under 5 minutes: scenarios that are one long pass whatever the reps run only when --only names them.
  const skipped = options.quick ? chosen.filter((scenario) => scenario.slow && !options.only.includes(scenario.name)) : [];
  const selected = chosen.filter((scenario) => !skipped.includes(scenario));
  const startedAt = new Date();
  const runId = randomBytes(3).toString('hex');
  const resources = new BenchResources({ docker, log });
  const abort = new AbortController();

  // First Ctrl-C (or SIGTERM): stop the running command, remove everything, exit 130. Second: exit now.
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) {
      log(`${signal} again: exiting without cleanup (bench-${runId}-* projects and /tmp/bench-* may remain)`);
      process.exit(130);
    }
    interrupted = true;
    log(`${signal}: stopping and removing everything the bench created (Ctrl-C again to exit at once)`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  const ctx = {
    repoDir: REPO_DIR,
    envctlBin,
    docker,
    resources,
    runId,
    reps: options.reps,
    signal: abort.signal,
    log,
    progress: (line) => log(`[${Math.round((Date.now() - started) / 1000)}s] ${line}`),
    compose: { available: false, reason: 'not needed by the selected scenarios' },
  };

  const results = [];
  const runNotes = skipped.map((scenario) => `${scenario.name} skipped by --quick (${scenario.slow}): \`node bench/run.mjs --only ${scenario.name}\` runs it`);
  let failed = false;
  try {
    if (selected.some((scenario) => NEEDS_COMPOSE.has(scenario.name))) {
      const probeDir = await resources.tempDir('probe');
      const probeFile = join(probeDir, 'docker-compose.yml');
      await writeFile(probeFile, `version: "2.4"\nservices:\n  probe: { image: "${TOPOLOGY_IMAGE}" }\n`);
      ctx.compose = await ensureCompose({ log, probeFile, env: process.env });
      if (!ctx.compose.available) {
        log(`note: measuring envctl alone: ${ctx.compose.reason}`);
        runNotes.push(`docker-compose not measured: ${ctx.compose.reason}`);
      }
    }
    const machine = await describeMachine({ docker, repoDir: REPO_DIR, composeVersion: ctx.compose.available ? ctx.compose.version : null });
    log(`${options.reps} reps after 1 warm-up; scenarios: ${selected.map((s) => s.name).join(', ')}; projects bench-${runId}-*`);

    for (const scenario of selected) {
      if (abort.signal.aborted) break;
      try {
        results.push(await scenario.run(ctx));
      } catch (error) {
        if (abort.signal.aborted) break;
        failed = true;
        log(`scenario ${scenario.name} failed: ${error.message}`);
        runNotes.push(`${scenario.name} failed: ${error.message.split('\n')[0]}`);
      } finally {
        await resources.releaseAll();
      }
    }
    if (abort.signal.aborted) return 130;
    if (newestMtime(join(REPO_DIR, 'dist')) !== distBuiltAt) {
      log('warning: dist/ was rebuilt during the run: samples may mix two builds');
      runNotes.push('dist/ was rebuilt during the run: samples may mix two builds of envctl');
    }

    const scenarios = withStatistics(results);
    const report = {
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - started,
      command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      options: { quick: options.quick, reps: options.reps, warmups: 1, only: options.only },
      machine: { ...machine, envctlBuiltAt: new Date(distBuiltAt).toISOString() },
      loadAverageAtEnd: loadavg().map((load) => Math.round(load * 100) / 100),
      scenarios,
      targets: judgeTargets(scenarios),
      runNotes,
    };
    const markdown = renderMarkdown(report);
    const paths = await writeReport(join(BENCH_DIR, 'results'), report, markdown);
    process.stdout.write(`${markdown}\n`);
    log(`wrote ${paths.json} and ${paths.markdown}`);
    return failed ? 1 : 0;
  } finally {
    await resources.releaseAll();
  }
}

process.exitCode = await main();
