/**
 * The release judge (canary.md §3.3f): one pure function from a step snapshot and the release config
 * to a verdict. No I/O, no clock, no randomness beyond the snapshot's seed (Hodges-Lehmann
 * reservoirs), so `envctl release judge --replay` reproduces a verdict byte for byte.
 *
 * Order of the checks, first decisive one wins:
 *  1. guardrails (no statistics): canary exited or unhealthy, a run of `consecutiveBad` bad canary
 *     responses, canary bad-rate ≥ `maxBadRate` after `minRequests` analysed canary requests → rollback;
 *  2. count SPRTs for bad requests, slow requests and error log lines → rollback;
 *  3. baseline exited or unhealthy → inconclusive (nothing to compare against; not the canary's fault);
 *  4. step minimums (≥ stepMinRequests per arm and ≥ stepMinDuration): not met → continue, or
 *     inconclusive once stepMaxDuration has passed. Missing data never rolls back;
 *  5. latency: one-sided Mann-Whitney p < α_latency/K *and* Hodges-Lehmann shift ≥ the practical
 *     minimum → rollback;
 *  6. new canary-only error fingerprints or a manual gate → gate;
 *  7. otherwise → advance.
 * Every verdict carries all the numbers behind it (`stats`), and each reason repeats the ones it used.
 */
import type { ReleaseConfig } from '../../definition/schema.js';
import type { NewFingerprint } from './fingerprint.js';
import { createRng } from './rng.js';
import { COUNT_METRICS, type AnalysedArm, type ContainerHealth, type CountMetric, type StepSnapshot } from './snapshot.js';
import { sprtIncrements, sprtThreshold, traceSprt, type SprtCrossing } from './sprt.js';
import { hodgesLehmann, mannWhitneyGreater, median, p95UpperBound, sortedSamples, type Samples } from './stats.js';

/** The parts of the release config the judge reads. */
export type JudgeConfig = Pick<
  ReleaseConfig,
  'steps' | 'stepMinDuration' | 'stepMinRequests' | 'stepMaxDuration' | 'alpha' | 'counts' | 'latency' | 'slo' | 'guardrails' | 'gates'
>;

export type Metric = CountMetric | 'latency';

/**
 * Shares of the release-wide false-rollback budget α (union bound; canary.md §3.3): errors 40 %,
 * slow requests 30 %, latency shift 30 %. "Errors" covers both error signals, bad responses and
 * error log lines, 20 % each, so the total stays α (with α = 0.01: 0.002 + 0.002 + 0.003 + 0.003).
 */
export const ALPHA_SHARES: Readonly<Record<Metric, number>> = { bad: 0.2, slow: 0.3, logError: 0.2, latency: 0.3 };

export interface AlphaBudget {
  /** Release-wide false-rollback budget. */
  release: number;
  /** Number of steps K the budget is divided over. */
  steps: number;
  /** Each metric's release-wide share α_m. */
  perRelease: Readonly<Record<Metric, number>>;
  /** α_m / K: the false-rollback probability each test may spend in one step. */
  perStep: Readonly<Record<Metric, number>>;
}

export function alphaBudget(alpha: number, steps: number): AlphaBudget {
  const perRelease = { bad: 0, slow: 0, logError: 0, latency: 0 };
  const perStep = { ...perRelease };
  for (const metric of Object.keys(ALPHA_SHARES) as Metric[]) {
    perRelease[metric] = alpha * ALPHA_SHARES[metric];
    perStep[metric] = perRelease[metric] / steps;
  }
  return { release: alpha, steps, perRelease, perStep };
}

/**
 * The slow-request threshold T for a step, fixed when the step starts (canary.md §3.3a):
 * max(slo.latencyMs, distribution-free upper bound of the baseline p95 of the previous step, or of
 * this step's warm-up for the first step). A fixed `latency.slowThreshold` duration replaces the
 * rule. Null (slow test skipped this step) with fewer than 59 baseline samples and no SLO.
 */
export function slowThresholdMs(config: Pick<ReleaseConfig, 'latency' | 'slo'>, previousBaselineLatencyMs: Samples): number | null {
  if (typeof config.latency.slowThreshold === 'number') return config.latency.slowThreshold;
  const p95 = p95UpperBound(previousBaselineLatencyMs);
  const slo = config.slo.latencyMs;
  if (p95 === undefined) return slo ?? null;
  return slo === undefined ? p95 : Math.max(slo, p95);
}

export type Action = 'continue' | 'advance' | 'gate' | 'rollback' | 'inconclusive';

export interface DataProgress {
  analysed: Readonly<Record<AnalysedArm, number>>;
  latencySamples: Readonly<Record<AnalysedArm, number>>;
  minRequests: number;
  elapsedMs: number;
  minDurationMs: number;
  maxDurationMs: number;
}

/** Why the judge decided; `code` is stable for programs, `message` is one line for people. */
export type Reason =
  | { code: 'canary-down'; message: string; health: ContainerHealth }
  | { code: 'consecutive-bad'; message: string; run: number; limit: number }
  | { code: 'bad-rate'; message: string; rate: number; bad: number; requests: number; limit: number; minRequests: number }
  | ({ code: 'count-regression'; message: string; metric: CountMetric; threshold: number; alpha: number; pi: number; theta: number } & SprtCrossing)
  | { code: 'baseline-down'; message: string; health: ContainerHealth }
  | ({ code: 'warming-up' | 'collecting' | 'insufficient-data'; message: string } & DataProgress)
  | { code: 'latency-regression'; message: string; p: number; alpha: number; u: number; method: 'exact' | 'asymptotic'; hlMs: number; minShiftMs: number }
  | { code: 'new-fingerprints'; message: string; fingerprints: readonly NewFingerprint[] }
  | { code: 'manual-gate'; message: string; before: 'promote' | 'step'; nextWeight: number | null }
  | { code: 'passed'; message: string };

export interface CountTestStats {
  /** Why the test did not run this step, or null. */
  skipped: string | null;
  /** α_m / K for this step. */
  alpha: number;
  /** ln(K/α_m): L at or above it rolls back. */
  threshold: number;
  pi: number;
  theta: number;
  /** The canary's share of events under the alternative. */
  q: number;
  canaryEvents: number;
  baselineEvents: number;
  /** L now. */
  logE: number;
  /** Largest L during the step. */
  maxLogE: number;
  /** Where L first reached the threshold, if it did. */
  crossing: SprtCrossing | null;
}

export interface LatencyTestStats {
  samples: Readonly<Record<AnalysedArm, number>>;
  medianMs: Readonly<Record<AnalysedArm, number>>;
  /** Mann-Whitney U of the canary over the baseline. */
  u: number;
  /** One-sided p-value, H1: the canary is slower. */
  p: number;
  method: 'exact' | 'asymptotic';
  /** α_latency / K: p below it is significant. */
  alpha: number;
  /** Hodges-Lehmann shift canary − baseline, ms (positive: the canary is slower). */
  hlMs: number;
  hlMethod: 'exact' | 'reservoir';
  /** max(latency.minShiftMs, (minShiftRatio − 1) × baseline median): the smallest shift worth a rollback. */
  minShiftMs: number;
  significant: boolean;
  practical: boolean;
}

export interface VerdictStats {
  step: number;
  weight: number;
  /** K, the number of steps the α budget is split over. */
  steps: number;
  elapsedMs: number;
  warmingUp: boolean;
  analysed: Readonly<Record<AnalysedArm, number>>;
  requirements: { minRequests: number; minDurationMs: number; maxDurationMs: number };
  alpha: AlphaBudget;
  guardrails: {
    health: Readonly<Record<AnalysedArm, ContainerHealth>>;
    longestCanaryBadRun: number;
    consecutiveBadLimit: number;
    canaryBad: number;
    /** Bad canary responses / analysed canary requests; null before any analysed request. */
    canaryBadRate: number | null;
    maxBadRate: number;
    minRequests: number;
  };
  /** The step's slow threshold T in ms (null: slow test skipped). */
  slowThresholdMs: number | null;
  counts: Readonly<Record<CountMetric, CountTestStats>>;
  /** Null until the step minimums are met. */
  latency: LatencyTestStats | null;
  newFingerprints: readonly NewFingerprint[];
}

export interface Verdict {
  action: Action;
  reasons: Reason[];
  stats: VerdictStats;
}

const METRIC_LABEL: Readonly<Record<CountMetric, string>> = { bad: 'bad responses', slow: 'slow responses', logError: 'error log lines' };
const FAILED_HEALTH: ReadonlySet<ContainerHealth> = new Set(['unhealthy', 'exited']);

/**
 * Judges one step. `steps` is K, the number of steps the false-rollback budget is split over
 * (normally `config.steps.length`); call it as often as you like (every second in the controller):
 * the count tests are anytime-valid and the latency test looks once, when the step minimums are met.
 */
export function judge(snapshot: StepSnapshot, config: JudgeConfig, steps: number): Verdict {
  const budget = alphaBudget(config.alpha, steps);
  const counts = countTests(snapshot, config, budget);
  const canaryBad = counts.bad.canaryEvents;
  const stats: VerdictStats = {
    step: snapshot.step,
    weight: snapshot.weight,
    steps,
    elapsedMs: snapshot.elapsedMs,
    warmingUp: snapshot.warmingUp,
    analysed: { canary: snapshot.analysed.canary, baseline: snapshot.analysed.baseline },
    requirements: { minRequests: config.stepMinRequests, minDurationMs: config.stepMinDuration, maxDurationMs: config.stepMaxDuration },
    alpha: budget,
    guardrails: {
      health: { canary: snapshot.health.canary, baseline: snapshot.health.baseline },
      longestCanaryBadRun: snapshot.longestCanaryBadRun,
      consecutiveBadLimit: config.guardrails.consecutiveBad,
      canaryBad,
      canaryBadRate: snapshot.analysed.canary > 0 ? canaryBad / snapshot.analysed.canary : null,
      maxBadRate: config.guardrails.maxBadRate,
      minRequests: config.guardrails.minRequests,
    },
    slowThresholdMs: snapshot.slowThresholdMs,
    counts,
    latency: null,
    newFingerprints: snapshot.newFingerprints,
  };

  const guardrails = guardrailReasons(stats);
  if (guardrails.length > 0) return { action: 'rollback', reasons: guardrails, stats };

  const regressions = COUNT_METRICS.flatMap((metric) => countRegression(metric, counts[metric]));
  if (regressions.length > 0) return { action: 'rollback', reasons: regressions, stats };

  const baselineHealth = snapshot.health.baseline;
  if (FAILED_HEALTH.has(baselineHealth)) {
    const message = `baseline container ${baselineHealth === 'exited' ? 'exited' : 'is unhealthy'}: nothing to compare the canary with`;
    return { action: 'inconclusive', reasons: [{ code: 'baseline-down', message, health: baselineHealth }], stats };
  }

  const progress = dataProgress(snapshot, config);
  if (!minimumsMet(progress)) {
    if (snapshot.elapsedMs >= config.stepMaxDuration) {
      return { action: 'inconclusive', reasons: [{ code: 'insufficient-data', message: insufficientMessage(progress), ...progress }], stats };
    }
    const code = snapshot.warmingUp ? 'warming-up' : 'collecting';
    return { action: 'continue', reasons: [{ code, message: waitingMessage(code, progress), ...progress }], stats };
  }

  const latency = latencyTest(snapshot, config, budget);
  stats.latency = latency;
  if (latency.significant && latency.practical) {
    const message =
      `latency: canary slower, Mann-Whitney p = ${fmt(latency.p)} < ${fmt(latency.alpha)} (U ${fmt(latency.u)}, ${latency.method}) ` +
      `and Hodges-Lehmann shift ${fmt(latency.hlMs)} ms ≥ ${fmt(latency.minShiftMs)} ms`;
    const reason: Reason = {
      code: 'latency-regression',
      message,
      p: latency.p,
      alpha: latency.alpha,
      u: latency.u,
      method: latency.method,
      hlMs: latency.hlMs,
      minShiftMs: latency.minShiftMs,
    };
    return { action: 'rollback', reasons: [reason], stats };
  }

  const gates = gateReasons(snapshot, config);
  if (gates.length > 0) return { action: 'gate', reasons: gates, stats };
  return { action: 'advance', reasons: [{ code: 'passed', message: passedMessage(stats, latency) }], stats };
}

function countTests(snapshot: StepSnapshot, config: JudgeConfig, budget: AlphaBudget): Record<CountMetric, CountTestStats> {
  const streams: Record<CountMetric, { arm: AnalysedArm }[]> = { bad: [], slow: [], logError: [] };
  for (const event of snapshot.events) streams[event.kind].push(event);
  const theta = config.counts.oddsRatio;
  const { q } = sprtIncrements(snapshot.pi, theta);
  const test = (metric: CountMetric, skipped: string | null): CountTestStats => {
    const threshold = sprtThreshold(budget.perRelease[metric], budget.steps);
    const trace = traceSprt(streams[metric], snapshot.pi, theta, skipped === null ? threshold : Infinity);
    return {
      skipped,
      alpha: budget.perStep[metric],
      threshold,
      pi: snapshot.pi,
      theta,
      q,
      canaryEvents: trace.canaryEvents,
      baselineEvents: trace.baselineEvents,
      logE: trace.logE,
      maxLogE: trace.maxLogE,
      crossing: trace.crossing,
    };
  };
  return {
    bad: test('bad', null),
    slow: test('slow', snapshot.slowThresholdMs === null ? 'no slow threshold: fewer than 59 baseline latencies and no slo.latencyMs' : null),
    logError: test('logError', null),
  };
}

function guardrailReasons(stats: VerdictStats): Reason[] {
  const g = stats.guardrails;
  const reasons: Reason[] = [];
  if (FAILED_HEALTH.has(g.health.canary)) {
    reasons.push({ code: 'canary-down', message: `canary container ${g.health.canary === 'exited' ? 'exited' : 'is unhealthy'}`, health: g.health.canary });
  }
  if (g.longestCanaryBadRun >= g.consecutiveBadLimit) {
    reasons.push({
      code: 'consecutive-bad',
      message: `${g.longestCanaryBadRun} consecutive bad canary responses (limit ${g.consecutiveBadLimit})`,
      run: g.longestCanaryBadRun,
      limit: g.consecutiveBadLimit,
    });
  }
  const requests = stats.analysed.canary;
  if (requests >= g.minRequests && g.canaryBadRate !== null && g.canaryBadRate >= g.maxBadRate) {
    reasons.push({
      code: 'bad-rate',
      message: `canary bad-rate ${fmtPercent(g.canaryBadRate)} (${g.canaryBad} of ${requests} analysed requests) ≥ ${fmtPercent(g.maxBadRate)}`,
      rate: g.canaryBadRate,
      bad: g.canaryBad,
      requests,
      limit: g.maxBadRate,
      minRequests: g.minRequests,
    });
  }
  return reasons;
}

function countRegression(metric: CountMetric, test: CountTestStats): Reason[] {
  if (test.crossing === null) return [];
  const c = test.crossing;
  const message =
    `${METRIC_LABEL[metric]}: log e-value reached ${fmt(c.logE)} ≥ threshold ${fmt(test.threshold)} at event ${c.event} ` +
    `(canary ${c.canaryEvents}, baseline ${c.baselineEvents}; π ${fmt(test.pi)}, θ ${fmt(test.theta)}, α ${fmt(test.alpha)} per step)`;
  return [{ code: 'count-regression', message, metric, threshold: test.threshold, alpha: test.alpha, pi: test.pi, theta: test.theta, ...c }];
}

function dataProgress(snapshot: StepSnapshot, config: JudgeConfig): DataProgress {
  return {
    analysed: { canary: snapshot.analysed.canary, baseline: snapshot.analysed.baseline },
    latencySamples: { canary: snapshot.latencyMs.canary.length, baseline: snapshot.latencyMs.baseline.length },
    minRequests: config.stepMinRequests,
    elapsedMs: snapshot.elapsedMs,
    minDurationMs: config.stepMinDuration,
    maxDurationMs: config.stepMaxDuration,
  };
}

/** Enough requests on both arms, long enough, and at least one good response per arm to compare. */
function minimumsMet(p: DataProgress): boolean {
  return (
    Math.min(p.analysed.canary, p.analysed.baseline) >= p.minRequests &&
    p.elapsedMs >= p.minDurationMs &&
    Math.min(p.latencySamples.canary, p.latencySamples.baseline) > 0
  );
}

function latencyTest(snapshot: StepSnapshot, config: JudgeConfig, budget: AlphaBudget): LatencyTestStats {
  // Sorted once; the statistics recognise sorted Float64Arrays and do not sort again.
  const canary = sortedSamples(snapshot.latencyMs.canary);
  const baseline = sortedSamples(snapshot.latencyMs.baseline);
  const mw = mannWhitneyGreater(canary, baseline);
  const hl = hodgesLehmann(canary, baseline, createRng(snapshot.seed));
  const baselineMedian = median(baseline);
  const minShiftMs = Math.max(config.latency.minShiftMs, (config.latency.minShiftRatio - 1) * baselineMedian);
  const alpha = budget.perStep.latency;
  return {
    samples: { canary: canary.length, baseline: baseline.length },
    medianMs: { canary: median(canary), baseline: baselineMedian },
    u: mw.u,
    p: mw.p,
    method: mw.method,
    alpha,
    hlMs: hl.shift,
    hlMethod: hl.method,
    minShiftMs,
    significant: mw.p < alpha,
    practical: hl.shift >= minShiftMs,
  };
}

function gateReasons(snapshot: StepSnapshot, config: JudgeConfig): Reason[] {
  const reasons: Reason[] = [];
  if (snapshot.newFingerprints.length > 0) {
    const listed = snapshot.newFingerprints
      .slice(0, 3)
      .map((f) => `"${f.fingerprint}" (${f.canaryCount}×)`)
      .join(', ');
    const more = snapshot.newFingerprints.length > 3 ? ` and ${snapshot.newFingerprints.length - 3} more` : '';
    reasons.push({
      code: 'new-fingerprints',
      message: `the canary logs ${snapshot.newFingerprints.length} error kind(s) the baseline and prod never logged: ${listed}${more}`,
      fingerprints: snapshot.newFingerprints,
    });
  }
  const nextWeight = config.steps[snapshot.step];
  if (nextWeight === undefined && config.gates.beforePromote === 'manual') {
    reasons.push({ code: 'manual-gate', message: 'manual approval before promotion (gates.beforePromote: manual)', before: 'promote', nextWeight: null });
  } else if (nextWeight !== undefined && config.gates.beforeStep.includes(nextWeight)) {
    reasons.push({ code: 'manual-gate', message: `manual approval before the ${nextWeight}% step (gates.beforeStep)`, before: 'step', nextWeight });
  }
  return reasons;
}

function waitingMessage(code: 'warming-up' | 'collecting', p: DataProgress): string {
  const what = code === 'warming-up' ? 'warming up' : 'collecting';
  return `${what}: ${progressText(p)}`;
}

function insufficientMessage(p: DataProgress): string {
  return `not enough data after ${fmt(p.elapsedMs / 1000)} s (step limit ${fmt(p.maxDurationMs / 1000)} s): ${progressText(p)}`;
}

function progressText(p: DataProgress): string {
  const latency =
    Math.min(p.latencySamples.canary, p.latencySamples.baseline) === 0 && Math.min(p.analysed.canary, p.analysed.baseline) > 0
      ? `; good responses canary ${p.latencySamples.canary}, baseline ${p.latencySamples.baseline}`
      : '';
  return (
    `analysed canary ${p.analysed.canary}, baseline ${p.analysed.baseline} of ${p.minRequests} requests per arm; ` +
    `${fmt(p.elapsedMs / 1000)} s of at least ${fmt(p.minDurationMs / 1000)} s${latency}`
  );
}

function passedMessage(stats: VerdictStats, latency: LatencyTestStats): string {
  const counts = COUNT_METRICS.map((metric) => {
    const test = stats.counts[metric];
    return test.skipped === null ? `${metric} max L ${fmt(test.maxLogE)} < ${fmt(test.threshold)}` : `${metric} skipped`;
  }).join(', ');
  return (
    `step ${stats.step} passed: ${counts}; latency p = ${fmt(latency.p)} (α ${fmt(latency.alpha)}), ` +
    `Hodges-Lehmann shift ${fmt(latency.hlMs)} ms (minimum ${fmt(latency.minShiftMs)} ms)`
  );
}

/** Three significant digits for messages; exact values stay in the structured fields. */
function fmt(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e6) return String(Number(value.toPrecision(3)));
  return value.toExponential(2);
}

function fmtPercent(fraction: number): string {
  return `${fmt(fraction * 100)}%`;
}
