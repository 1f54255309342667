/**
 * release-judge: envctl only (no peer). The pure release judge (dist/release/analysis/judge.js)
 * driven by seeded, virtual-time releases as test/unit/release/simulate-support.ts drives it
 * (bench/lib/release-sim.mjs is its port), judged every virtual second as the controller does.
 *
 * - **A/A releases per second**: identical canary and baseline (1% errors), 50 requests/s, the
 *   default release (steps 10 → 25 → 50); one batch per rep, the sample is the batch's rate.
 * - **Detection**: canary requests served (warm-up included) until the rollback, per seed, for a
 *   canary failing every request and for error rates baseline → canary 0 → 5%, 1 → 5%, 1 → 10%,
 *   0.1 → 2%. Deterministic per seed, so computed once (not per rep); median and p90 over the seeds
 *   that were rolled back, and the share that was (a release that promotes the canary is a miss).
 */
import { performance } from 'node:perf_hooks';
import { SampleBook } from '../lib/measure.mjs';
import { HEALTHY, quantile, releaseConfig, simulateRelease } from '../lib/release-sim.mjs';
import { createRng } from '../../dist/release/analysis/rng.js';
import { hodgesLehmann, mannWhitneyGreater } from '../../dist/release/analysis/stats.js';

/** The judge's two costliest statistics at their limits (moved here from test/unit/release/stats.test.ts: timings are not tests). */
const MW_EXACT = 'Mann-Whitney exact 100 × 100';
const HL_CAP = 'Hodges-Lehmann 50 000 per arm';
const roundMs = (ms) => Math.round(ms * 100) / 100;
function timeStatistics(book, warmup) {
  const x = Array.from({ length: 100 }, (_, i) => 2 * i + 1);
  const y = Array.from({ length: 100 }, (_, i) => 2 * i + 0.5);
  let started = performance.now();
  if (mannWhitneyGreater(x, y).method !== 'exact') throw new Error('Mann-Whitney at 100 × 100 did not take the exact path');
  book.add(MW_EXACT, 'envctl', roundMs(performance.now() - started), { warmup });
  const rng = createRng(3);
  const big = (scale) => Float64Array.from({ length: 50_000 }, () => scale * (0.5 + rng.nextUint32() / 4_294_967_296));
  const [a, b] = [big(60), big(50)];
  started = performance.now();
  hodgesLehmann(a, b, createRng(7));
  book.add(HL_CAP, 'envctl', roundMs(performance.now() - started), { warmup });
}

const RPS = 50;
const CASES = [
  { name: '100% failing', baseline: 0, canary: 1 },
  { name: '0 → 5%', baseline: 0, canary: 0.05 },
  { name: '1 → 5%', baseline: 0.01, canary: 0.05 },
  { name: '1 → 10%', baseline: 0.01, canary: 0.1 },
  { name: '0.1 → 2%', baseline: 0.001, canary: 0.02 },
];

export const releaseJudge = {
  name: 'release-judge',
  summary: `envctl only: seeded virtual-time releases through the built judge (default release: steps 10/25/50, ${RPS} req/s, judged every virtual second)`,

  async run(ctx) {
    const config = releaseConfig();
    const seeds = ctx.reps <= 3 ? 200 : 500;
    const batch = ctx.reps <= 3 ? 100 : 200;
    const book = new SampleBook();
    const aa = { canary: HEALTHY, baseline: HEALTHY, rps: RPS };
    const outcomes = {};
    let nextSeed = 1;
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      ctx.signal.throwIfAborted();
      const warmup = rep === 0;
      ctx.progress(`release-judge ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}: ${batch} A/A releases`);
      const started = performance.now();
      for (let i = 0; i < batch; i += 1) {
        const outcome = simulateRelease(nextSeed++, aa, config, true);
        if (!warmup) outcomes[outcome.action] = (outcomes[outcome.action] ?? 0) + 1;
      }
      book.add('A/A releases per second', 'envctl', Math.round((batch / (performance.now() - started)) * 1000), { warmup });
      timeStatistics(book, warmup);
      await new Promise((resolve) => setImmediate(resolve)); // let a Ctrl-C through
    }

    const notes = [`A/A outcomes over the measured ${batch * ctx.reps} releases: ${Object.entries(outcomes).map(([action, n]) => `${action} ${n}`).join(', ')}`];
    const measurements = [{ name: 'A/A releases per second', what: `identical arms (1% errors), whole release judged every virtual second, ${batch} per sample`, unit: 'releases/s', better: 'higher', envctl: book.side('A/A releases per second', 'envctl'), peer: null },
      { name: MW_EXACT, what: 'one mannWhitneyGreater at the exact-method cut-off (10 000 pairs, U near the middle)', unit: 'ms', envctl: book.side(MW_EXACT, 'envctl'), peer: null },
      { name: HL_CAP, what: 'one hodgesLehmann at the proxy cap (reservoir path)', unit: 'ms', envctl: book.side(HL_CAP, 'envctl'), peer: null }];
    for (const detectionCase of CASES) {
      ctx.signal.throwIfAborted();
      ctx.progress(`release-judge detection ${detectionCase.name} (${seeds} seeds)`);
      const scenario = { canary: { ...HEALTHY, errorRate: detectionCase.canary }, baseline: { ...HEALTHY, errorRate: detectionCase.baseline }, rps: RPS };
      const detections = [];
      const byStep = [0, 0, 0, 0];
      const causes = new Map();
      for (let seed = 1; seed <= seeds; seed += 1) {
        const outcome = simulateRelease(seed, scenario, config, true);
        if (outcome.action !== 'rollback') continue;
        detections.push(outcome.canaryRequests);
        byStep[outcome.step] = (byStep[outcome.step] ?? 0) + 1;
        const reason = outcome.reasons[0];
        const cause = reason?.code === 'count-regression' ? `sprt:${reason.metric}` : (reason?.code ?? 'none');
        causes.set(cause, (causes.get(cause) ?? 0) + 1);
      }
      const share = `${((detections.length / seeds) * 100).toFixed(1)}%`;
      notes.push(
        detections.length > 0
          ? `detection ${detectionCase.name}: rolled back ${detections.length}/${seeds} seeds (${share}; step 1/2/3: ${byStep.slice(1).join('/')}; ${[...causes].map(([c, n]) => `${c} ${n}`).join(', ')}); canary requests to rollback median ${quantile(detections, 0.5)}, p90 ${quantile(detections, 0.9)}`
          : `detection ${detectionCase.name}: NOT detected: 0/${seeds} seeds rolled back (the default release promotes such a canary)`,
      );
      measurements.push({
        name: `detection ${detectionCase.name}`,
        what: `canary requests to rollback (${share} of ${seeds} seeds rolled back)`,
        p90: true,
        unit: 'requests',
        envctl: { tool: 'envctl', warmup: [], samples: detections, excluded: [] },
        peer: null,
      });
    }
    return { name: this.name, summary: this.summary, notes: ['no peer: envctl-only figures', ...notes], measurements };
  },
};
