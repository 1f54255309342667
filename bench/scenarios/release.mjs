/**
 * release: envctl alone (no peer). The canary release of the demo's web service as a user runs it
 * (the built CLI, `CI=true`, `--json`), on a private copy of the demo definition
 * (`DEMO_PROJECT=bench-<run id>-release`, a free web port) in a temp dir with templates/ symlinked,
 * so the release records envctl keeps in `.envctl/` beside the definition stay out of the tree.
 * The demo's own release settings (steps 10/25/50, 50 requests/s of built-in load), nothing tuned:
 *
 * 1. `up`, then `release start --build-arg WEB_VERSION=2`: start → exit (issue 5: under 240 s), and
 *    the outcome (promoted, exit 0 expected).
 * 2. `release rollback <id>` after that promotion while one client sends sequential `GET /` through
 *    the release proxy: the CLI's time, launch → first response with `x-demo-version: 1` (issue 5:
 *    "flips back in under a second"), and the failed requests (non-2xx or no response) meanwhile.
 * 3. `release start --build-arg WEB_FAULT=errors` (every 5th request 500): start → rollback, and why.
 * 4. `release start --build-arg WEB_FAULT=latency` (+150 ms): start → rollback, and why (or that it
 *    was not rolled back).
 * Then `down --volumes`; the images built for the project go with the project's labels.
 *
 * One measured pass, no warm-up, whatever --reps says: it takes minutes (a default release alone
 * is ~3). Each release's phases (process start and image build, canary/baseline/proxy ready, the
 * judged steps) come from its `events.jsonl` and are in the notes.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { envctlDriver } from '../lib/drivers.mjs';
import { SampleBook } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';

/** Issue 5: a default release of the demo under 4 minutes; rollback after promotion under 1 s. */
export const RELEASE_TARGET_MS = 240_000;
export const ROLLBACK_TARGET_MS = 1_000;
/** Generous: three steps may each run up to stepMaxDuration (10 min) before the judge must decide. */
const HEALTHY_TIMEOUT_MS = 15 * 60_000;
const FAULTY_TIMEOUT_MS = 10 * 60_000;
const ROLLBACK_TIMEOUT_MS = 60_000;
/** Traffic through the proxy before launching the rollback and after it exits (ms). */
const TRAFFIC_MARGIN_MS = 1_000;
/** States a controller still drives (src/release/store.ts ACTIVE_STATUSES): the bench aborts such a release. */
const ACTIVE = new Set(['preparing', 'running', 'gate']);

const M = {
  up: 'up (builds web, worker)',
  healthy: 'release WEB_VERSION=2: start → exit',
  rollbackCli: 'rollback after promotion: CLI',
  rollbackFlip: 'rollback: launch → first version-1 response',
  rollbackFailed: 'rollback: failed requests',
  errors: 'release WEB_FAULT=errors: start → exit',
  latency: 'release WEB_FAULT=latency: start → exit',
  down: 'down --volumes',
};

export const release = {
  name: 'release',
  /** Skipped by --quick unless named by --only (run.mjs): why. */
  slow: 'one measured pass of about 5.5 minutes on 2 cores',
  summary: 'envctl only: canary releases of the demo web service with the demo’s default release settings (steps 10/25/50, 50 req/s built-in load); one measured pass, no warm-up',

  async run(ctx) {
    const project = `bench-${ctx.runId}-release`;
    ctx.resources.trackEnvctlProject(project, { images: true });
    const root = await ctx.resources.tempDir('release');
    const demoDir = join(root, 'environments/demo');
    await mkdir(demoDir, { recursive: true });
    await copyFile(join(ctx.repoDir, 'environments/demo/envctl.yaml'), join(demoDir, 'envctl.yaml'));
    await symlink(join(ctx.repoDir, 'templates'), join(root, 'templates'));
    const file = join(demoDir, 'envctl.yaml');
    const env = { DEMO_PROJECT: project, DEMO_WEB_PORT: String(await freeLoopbackPort()) };
    const driver = envctlDriver({ ctx, project, file, env, serviceCount: 4 });
    const cli = (args, timeoutMs) => runRelease(ctx, [...args, '--json', '-f', file], { env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env }, cwd: demoDir, timeoutMs });
    const releaseEvents = (id) => readEvents(join(demoDir, '.envctl/releases', id, 'events.jsonl'));

    const book = new SampleBook();
    const notes = ['one measured pass, no warm-up, whatever --reps says (a default release alone takes ~3 minutes); times are wall clock from spawning the CLI to its exit'];
    const proxyImage = await proxyImageState(ctx);

    ctx.progress(`release: up ${project} (builds the web and worker images)`);
    const up = await driver.up();
    book.add(M.up, 'envctl', up.ms, { internalMs: up.internalMs });
    if (proxyImage) notes.push(proxyImage.present ? `release proxy image ${proxyImage.ref} was already on the engine` : `release proxy image ${proxyImage.ref} was not on the engine: the first release built it (kept afterwards: it is shared by every project, not labelled with one)`);

    // 1. A healthy new version, the demo's default release.
    ctx.progress('release: start --build-arg WEB_VERSION=2 (default steps 10/25/50: ~3-4 minutes)');
    const healthy = await cli(['release', 'start', '--build-arg', 'WEB_VERSION=2'], HEALTHY_TIMEOUT_MS);
    const promoted = healthy.outcome.status === 'promoted' && healthy.exitCode === 0;
    book.add(M.healthy, 'envctl', healthy.ms, { excluded: promoted ? undefined : `not promoted: ${describeOutcome(healthy)}` });
    notes.push(`WEB_VERSION=2: ${describeOutcome(healthy)}; ${phases(healthy, await releaseEvents(healthy.outcome.id))}`);
    await abortIfActive(ctx, cli, healthy, notes);

    // 2. Rollback after promotion, with traffic through the proxy.
    if (promoted && healthy.outcome.proxyPort) {
      ctx.progress(`release: rollback ${healthy.outcome.id} under sequential GET / through the proxy`);
      const flip = await rollbackUnderTraffic(ctx, healthy.outcome.proxyPort, () => cli(['release', 'rollback', healthy.outcome.id], ROLLBACK_TIMEOUT_MS));
      const ok = flip.rollback.exitCode === 0 && flip.rollback.outcome.status === 'rolled-back';
      const notOk = ok ? undefined : `rollback did not succeed: ${describeOutcome(flip.rollback)}`;
      book.add(M.rollbackCli, 'envctl', flip.rollback.ms, { excluded: notOk });
      if (flip.firstV1Ms === null) book.add(M.rollbackFlip, 'envctl', flip.rollback.ms, { excluded: `no version-1 response within ${TRAFFIC_MARGIN_MS} ms after the CLI exited` });
      else book.add(M.rollbackFlip, 'envctl', flip.firstV1Ms, { excluded: notOk });
      book.add(M.rollbackFailed, 'envctl', flip.during.failed, { excluded: notOk });
      notes.push(`rollback: ${describeOutcome(flip.rollback)}; ${flip.summary}`);
    } else {
      notes.push(`rollback after promotion not measured: the WEB_VERSION=2 release was not promoted (${healthy.outcome.status})`);
    }

    // 3 and 4. Faulty builds: the judge should roll them back by itself.
    for (const [fault, name] of [['errors', M.errors], ['latency', M.latency]]) {
      ctx.progress(`release: start --build-arg WEB_FAULT=${fault} (rollback expected)`);
      const faulty = await cli(['release', 'start', '--build-arg', `WEB_FAULT=${fault}`], FAULTY_TIMEOUT_MS);
      const rolledBack = faulty.outcome.status === 'rolled-back' && faulty.exitCode === 1;
      book.add(name, 'envctl', faulty.ms, { excluded: rolledBack ? undefined : `NOT rolled back: ${describeOutcome(faulty)}` });
      notes.push(`WEB_FAULT=${fault}: ${describeOutcome(faulty)}${verdictReasons(faulty.outcome)}; ${phases(faulty, await releaseEvents(faulty.outcome.id))}`);
      await abortIfActive(ctx, cli, faulty, notes);
    }

    ctx.progress(`release: down ${project} --volumes`);
    const down = await driver.downVolumes();
    book.add(M.down, 'envctl', down.ms, { internalMs: down.internalMs });
    await driver.assertGone();

    const measurement = (name, what, extra = {}) => ({ name, what, envctl: book.side(name, 'envctl'), peer: null, ...extra });
    return {
      name: this.name,
      summary: this.summary,
      notes,
      measurements: [
        measurement(M.up, 'fresh project: web and worker images built (Docker layer cache may hold them), all 4 ready'),
        measurement(M.healthy, `canary WEB_VERSION=2 built, started beside a fresh baseline, judged at 10/25/50%, promoted (target < ${RELEASE_TARGET_MS / 1000} s)`),
        measurement(M.rollbackCli, '`release rollback <id>` of the promoted release, spawn → exit'),
        measurement(M.rollbackFlip, `spawn of \`release rollback\` → first \`x-demo-version: 1\` response of one sequential client through the proxy (target < ${ROLLBACK_TARGET_MS} ms)`),
        measurement(M.rollbackFailed, 'responses not 2xx or no response, between spawn and exit of `release rollback` (target 0)', { unit: 'requests' }),
        measurement(M.errors, 'canary answers every 5th request 500; spawn → exit (rolled back, exit 1, expected)'),
        measurement(M.latency, 'canary answers 150 ms later; spawn → exit (rolled back, exit 1, expected)'),
        measurement(M.down, 'remove the environment and the release containers left (proxy, previous version), and the volume'),
      ],
    };
  },
};

/**
 * Runs `envctl release …--json` and returns `{ ms, launchedAt, exitCode, outcome }`. An outcome
 * (promoted, rolled back, inconclusive) is a value whatever the exit code; a command that printed
 * no outcome (bad input, no engine), timed out or was cancelled throws.
 */
async function runRelease(ctx, args, { env, cwd, timeoutMs }) {
  const launchedAt = Date.now();
  const started = performance.now();
  const result = await execa(process.execPath, [ctx.envctlBin, ...args], { env, cwd, cancelSignal: ctx.signal, timeout: timeoutMs, reject: false, stdin: 'ignore', all: true });
  const ms = Math.round(performance.now() - started);
  const command = `envctl ${args.join(' ')}`;
  if (result.isCanceled) throw new Error(`\`${command}\` cancelled`);
  const tail = () => (result.all ?? '').split('\n').slice(-20).join('\n');
  if (result.timedOut) throw new Error(`\`${command}\` timed out after ${timeoutMs} ms:\n${tail()}`);
  let outcome;
  try {
    outcome = JSON.parse(result.stdout);
  } catch {
    throw new Error(`\`${command}\` exited ${result.exitCode} without a JSON outcome:\n${tail()}`);
  }
  if (typeof outcome?.status !== 'string') throw new Error(`\`${command}\` exited ${result.exitCode}: ${JSON.stringify(outcome).slice(0, 500)}`);
  return { ms, launchedAt, exitCode: result.exitCode, outcome };
}

/** A release left in progress (inconclusive, waiting at a gate) would block the next start: abort it. */
async function abortIfActive(ctx, cli, run, notes) {
  if (!ACTIVE.has(run.outcome.status)) return;
  ctx.progress(`release: abort ${run.outcome.id} (left ${run.outcome.status})`);
  const aborted = await cli(['release', 'abort', run.outcome.id], ROLLBACK_TIMEOUT_MS);
  notes.push(`${run.outcome.id} was left ${run.outcome.status}: aborted by the bench (${describeOutcome(aborted)})`);
}

/**
 * One client sends `GET /` through the proxy, one request after the other, from TRAFFIC_MARGIN_MS
 * before spawning the rollback until TRAFFIC_MARGIN_MS after it exits. Response times are taken
 * when the response headers arrive.
 */
async function rollbackUnderTraffic(ctx, proxyPort, runRollback) {
  const url = `http://127.0.0.1:${proxyPort}/`;
  const responses = [];
  let stop = false;
  const client = (async () => {
    while (!stop && !ctx.signal.aborted) {
      const sentAt = performance.now();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        const at = performance.now();
        await response.arrayBuffer();
        responses.push({ sentAt, at, status: response.status, version: response.headers.get('x-demo-version') });
      } catch (error) {
        responses.push({ sentAt, at: performance.now(), status: null, version: null, error: error.cause?.code ?? error.name });
      }
    }
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, TRAFFIC_MARGIN_MS));
    const launched = performance.now();
    const rollback = await runRollback();
    const exited = performance.now();
    await new Promise((resolve) => setTimeout(resolve, TRAFFIC_MARGIN_MS));
    stop = true;
    await client;

    const failed = (response) => response.status === null || response.status < 200 || response.status > 299;
    const window = (from, to) => responses.filter((response) => response.at >= from && response.at < to);
    const tally = (list) => ({ count: list.length, failed: list.filter(failed).length, versions: countBy(list, (response) => response.version ?? (response.error ? `error ${response.error}` : 'none')) });
    const before = tally(window(-Infinity, launched));
    const during = tally(window(launched, exited));
    const after = tally(window(exited, Infinity));
    const firstV1 = responses.find((response) => response.at >= launched && response.version === '1');
    const firstV1Ms = firstV1 ? Math.round(firstV1.at - launched) : null;
    const v2AfterFlip = firstV1 ? responses.filter((response) => response.at > firstV1.at && response.version === '2').length : 0;
    const describe = (label, part) => `${label} ${part.count} requests (${formatCounts(part.versions)}; ${part.failed} failed)`;
    const summary = [
      describe('before', before),
      describe('during', during),
      describe(`${TRAFFIC_MARGIN_MS} ms after`, after),
      firstV1 ? `first version 1 ${firstV1Ms} ms after spawn (CLI ${rollback.ms} ms)` : 'no version-1 response seen',
      `version 2 after the first version 1: ${v2AfterFlip}`,
    ].join('; ');
    return { rollback, firstV1Ms, during, summary };
  } finally {
    stop = true;
    await client;
  }
}

/** `events.jsonl` of a release (absent when it never started), one object per line. */
async function readEvents(path) {
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/**
 * Where a release's time went, from its events: spawn → `started` (process start, canary image
 * build), → first `step` (canary, baseline and proxy up and ready), → the end (judged steps).
 */
function phases(run, events) {
  const at = (event) => (event ? Date.parse(event.at) : null);
  const started = at(events.find((event) => event.event === 'started'));
  const steps = events.filter((event) => event.event === 'step');
  const firstStep = at(steps[0]);
  const endEvent = events.findLast((event) => ['promoted', 'rolled-back', 'aborted', 'failed', 'inconclusive'].includes(event.event));
  const end = at(endEvent);
  if (started === null) return 'no events recorded';
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  const parts = [`spawn → started ${seconds(started - run.launchedAt)} (process start, canary build)`];
  if (firstStep !== null) {
    parts.push(`→ step 1 ${seconds(firstStep - started)} (canary, baseline, proxy ready)`);
    parts.push(`steps started at ${steps.map((step) => `${step.step}: +${seconds(at(step) - firstStep)}`).join(', ')}`);
    const rollbackVerdict = at(events.find((event) => event.event === 'verdict' && event.action === 'rollback'));
    if (rollbackVerdict !== null) parts.push(`step 1 → rollback verdict ${seconds(rollbackVerdict - firstStep)}`);
    if (end !== null) parts.push(`step 1 → end recorded ${seconds(end - firstStep)} (at step ${endEvent?.step ?? '?'}; after the canary and baseline are removed)`);
  }
  return parts.join(', ');
}

function describeOutcome(run) {
  return `${run.outcome.status}, exit ${run.exitCode}, ${(run.ms / 1000).toFixed(1)} s: ${run.outcome.message}`;
}

/** The last verdict's reason codes, e.g. " (verdict rollback: count-regression bad)". */
function verdictReasons(outcome) {
  const verdict = outcome.verdict;
  if (!verdict) return '';
  const reasons = (verdict.reasons ?? []).map((reason) => [reason.code, reason.metric].filter(Boolean).join(' ')).join(', ');
  return ` (verdict ${verdict.action}${reasons ? `: ${reasons}` : ''})`;
}

/** The release proxy image this build of envctl uses, and whether the engine already has it. */
async function proxyImageState(ctx) {
  try {
    const { defaultProxyBundlePath, proxyImageRef } = await import(pathToFileURL(join(ctx.repoDir, 'dist/release/proxy-image.js')).href);
    const ref = proxyImageRef(await readFile(defaultProxyBundlePath()));
    const present = (await ctx.docker.listImages({ filters: { reference: [ref] } })).length > 0;
    return { ref, present };
  } catch (error) {
    ctx.log(`release: cannot tell which proxy image this build uses: ${error.message}`);
    return null;
  }
}

function countBy(list, key) {
  const counts = {};
  for (const item of list) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function formatCounts(counts) {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([name, count]) => `${/^\d+$/.test(name) ? `v${name}` : name} ${count}`).join(', ');
}
