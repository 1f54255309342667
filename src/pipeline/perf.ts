/**
 * The perf stage's measuring and judging: `generateLoad` drives autocannon against one URL for a
 * fixed time and connection count and returns the figures; `judgePerf` (pure) checks them against
 * the declared thresholds and against the baseline (the median of recent passing runs' figures).
 *
 * autocannon reports p50/p90/p97.5/p99 but not p95, and does not expose its histogram, so every
 * response's latency is also recorded here into an HDR histogram (µs resolution, 3 significant
 * digits) from which p50/p95/p99/mean/max are read.
 */
import autocannon from 'autocannon';
import { build as buildHistogram } from 'hdr-histogram-js';
import * as z from 'zod';
import type { PerfConfig } from '../definition/schema.js';
import { WorkFailedError } from '../errors.js';

/**
 * What one load run measured. JSON-serialisable: it is kept in the run record, and the next run
 * reads it back through this schema (validate at the boundary) for the regression check.
 */
export const loadFiguresSchema = z.object({
  /** Completed attempts: HTTP responses of any status + connection errors + timeouts. */
  requests: z.number().int().nonnegative(),
  /** HTTP responses of any status; latency and rps are measured over these. */
  responses: z.number().int().nonnegative(),
  /** Responses outside 2xx/3xx + connection errors + timeouts. */
  errors: z.number().int().nonnegative(),
  /** errors / requests (0..1); 0 when nothing completed. */
  errorRate: z.number().min(0).max(1),
  /** Responses per second over the measured duration. */
  rps: z.number().nonnegative(),
  /** Response latency in ms, from sending the request to the whole response; all 0 when there were no responses. */
  latencyMs: z.object({
    p50: z.number().nonnegative(),
    p95: z.number().nonnegative(),
    p99: z.number().nonnegative(),
    mean: z.number().nonnegative(),
    max: z.number().nonnegative(),
  }),
  /** How long load was applied, in ms (shorter than asked when cancelled). */
  durationMs: z.number().nonnegative(),
});
export type LoadFigures = z.infer<typeof loadFiguresSchema>;

export type PerfThresholds = PerfConfig['thresholds'];

export interface PerfResult {
  name: string;
  status: 'passed' | 'failed';
  detail: string;
}

export interface PerfVerdict {
  status: 'passed' | 'failed';
  results: PerfResult[];
}

export interface GenerateLoadOptions {
  url: string;
  durationMs: number;
  connections: number;
  signal: AbortSignal;
  /** One line per second of load, for the stage's output. */
  onProgress?: (line: string) => void;
}

/**
 * How often autocannon checks whether its time is up (ms). Its default (1000 ms) lets a run
 * overshoot its duration, or an abort, by up to a second; 100 ms bounds that.
 */
const SAMPLE_INTERVAL_MS = 100;

/** Latencies are recorded in µs; the histogram grows past this (60 s) by itself if it must. */
const HISTOGRAM_HIGHEST_US = 60_000_000;

/**
 * Applies `connections` concurrent keep-alive connections to `url` for `durationMs` and returns
 * what was measured. Requests still in flight when time is up are not counted.
 * When `signal` aborts, the load stops within ~100 ms, the connections close, and the promise
 * rejects with `signal.reason`: figures of a cut-short run are never judged or kept.
 */
export async function generateLoad(options: GenerateLoadOptions): Promise<LoadFigures> {
  const { url, durationMs, connections, signal, onProgress } = options;
  signal.throwIfAborted();

  const histogram = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: HISTOGRAM_HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: true });
  const counts = { responses: 0, badStatus: 0, requestErrors: 0 };
  let elapsedSeconds = 0;

  try {
    const measuredMs = await new Promise<number>((resolve, reject) => {
      let settled = false;
      const stop = () => instance.stop();
      // The callback form: the promise form returns a thenable emitter, which must never be awaited by accident.
      // autocannon calls back synchronously when its options are invalid.
      const instance = autocannon(
        { url, connections, duration: durationMs / 1000, sampleInt: SAMPLE_INTERVAL_MS, pipelining: 1 },
        (error: unknown, finished: autocannon.Result) => {
          settled = true;
          signal.removeEventListener('abort', stop);
          if (error) reject(new WorkFailedError('PERF_LOAD', `cannot generate load against ${url}: ${describeError(error)}`, 'check the perf target, path and port', error));
          else resolve(finished.duration * 1000);
        },
      );
      if (settled) return;
      signal.addEventListener('abort', stop, { once: true });

      instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
        counts.responses += 1;
        if (statusCode < 200 || statusCode >= 400) counts.badStatus += 1;
        histogram.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
      });
      // Connection errors and timeouts (autocannon emits one per pipelined request; pipelining is 1).
      instance.on('reqError', () => {
        counts.requestErrors += 1;
      });
      instance.on('tick', () => {
        elapsedSeconds += 1;
        if (elapsedSeconds * 1000 > durationMs) return;
        onProgress?.(`load: ${elapsedSeconds} s of ${formatSeconds(durationMs)}, ${counts.responses + counts.requestErrors} requests, ${counts.badStatus + counts.requestErrors} errors`);
      });
    });
    signal.throwIfAborted();
    return figuresFrom(counts, measuredMs, histogram);
  } finally {
    histogram.destroy();
  }
}

function figuresFrom(counts: { responses: number; badStatus: number; requestErrors: number }, measuredMs: number, histogram: ReturnType<typeof buildHistogram>): LoadFigures {
  const requests = counts.responses + counts.requestErrors;
  const errors = counts.badStatus + counts.requestErrors;
  const durationMs = Math.round(measuredMs);
  // HDR reports a percentile as the top of its bucket (≤ 0.1% above the true value), which can
  // exceed the largest value recorded: capped at that, so p50 ≤ p95 ≤ p99 ≤ max always holds.
  const percentileMs = (percentile: number) => (counts.responses === 0 ? 0 : usToMs(Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue)));
  return {
    requests,
    responses: counts.responses,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    rps: durationMs === 0 ? 0 : round(counts.responses / (durationMs / 1000), 2),
    latencyMs: {
      p50: percentileMs(50),
      p95: percentileMs(95),
      p99: percentileMs(99),
      mean: counts.responses === 0 ? 0 : usToMs(histogram.mean),
      max: counts.responses === 0 ? 0 : usToMs(histogram.maxValue),
    },
    durationMs,
  };
}

/**
 * Below this absolute increase (ms) a latency percentile never counts as a regression, whatever
 * the percentage: on a fast service 0.8 ms → 1.0 ms is +25% and pure noise (scheduler, GC, a
 * busy CI core), not a slower build.
 */
export const LATENCY_REGRESSION_FLOOR_MS = 2;

/** Absorbs binary floating-point error so a figure exactly at a boundary (40 ms → 44 ms at 10%) passes. */
const EPSILON = 1e-9;

const PERCENTILES = ['p50', 'p95', 'p99'] as const;

/**
 * Judges measured figures. Thresholds are inclusive: a latency or error rate equal to its limit
 * passes, and so does a throughput equal to its minimum. One result per declared threshold, then,
 * when baseline figures are given, one regression result per latency percentile
 * and one for throughput:
 * - a percentile regresses when it rose by more than `tolerance` (fraction) of the previous value
 *   AND by more than LATENCY_REGRESSION_FLOOR_MS;
 * - throughput regresses when it dropped by more than `tolerance` of the previous value.
 * Latency figures of a run with no responses are not figures: such a run fails every latency check.
 */
export function judgePerf(figures: LoadFigures, thresholds: PerfThresholds, previous: LoadFigures | undefined, tolerance: number): PerfVerdict {
  const results: PerfResult[] = [];
  const measured = figures.responses > 0;

  for (const percentile of PERCENTILES) {
    const limit = thresholds[percentile];
    if (limit === undefined) continue;
    const label = `${percentile} ≤ ${formatNumber(limit)} ms`;
    if (!measured) {
      results.push({ name: percentile, status: 'failed', detail: `${label}: no responses to measure` });
      continue;
    }
    const value = figures.latencyMs[percentile];
    results.push({ name: percentile, status: value <= limit + EPSILON ? 'passed' : 'failed', detail: `${label}: ${formatMs(value)}` });
  }

  if (thresholds.errors !== undefined) {
    const label = `errors ≤ ${formatNumber(thresholds.errors * 100)}%`;
    if (figures.requests === 0) {
      results.push({ name: 'errors', status: 'failed', detail: `${label}: no requests completed` });
    } else {
      results.push({
        name: 'errors',
        status: figures.errorRate <= thresholds.errors + EPSILON ? 'passed' : 'failed',
        detail: `${label}: ${formatPercent(figures.errorRate)} (${figures.errors} of ${figures.requests} requests)`,
      });
    }
  }

  if (thresholds.rps !== undefined) {
    results.push({
      name: 'rps',
      status: figures.rps >= thresholds.rps - EPSILON ? 'passed' : 'failed',
      detail: `rps ≥ ${formatNumber(thresholds.rps)} req/s: ${figures.rps.toFixed(1)} req/s`,
    });
  }

  if (previous) results.push(...judgeRegression(figures, previous, tolerance));

  return { status: results.some((result) => result.status === 'failed') ? 'failed' : 'passed', results };
}

function judgeRegression(figures: LoadFigures, previous: LoadFigures, tolerance: number): PerfResult[] {
  const allowed = `${formatNumber(tolerance * 100)}%`;
  const results: PerfResult[] = [];

  for (const percentile of PERCENTILES) {
    const name = `${percentile} regression`;
    const label = `${percentile} regression ≤ ${allowed} vs baseline`;
    if (figures.responses === 0) {
      results.push({ name, status: 'failed', detail: `${label}: no responses to measure` });
      continue;
    }
    if (previous.responses === 0) {
      results.push({ name, status: 'passed', detail: `${label}: nothing to compare (the baseline measured no responses)` });
      continue;
    }
    const value = figures.latencyMs[percentile];
    const before = previous.latencyMs[percentile];
    const change = relativeChange(value, before);
    const increase = value - before;
    const beyondTolerance = change > tolerance + EPSILON;
    const withinFloor = increase <= LATENCY_REGRESSION_FLOOR_MS + EPSILON;
    const comparison = `${formatMs(value)} vs ${formatMs(before)} (${formatChange(change)}`;
    results.push(
      beyondTolerance && withinFloor
        ? { name, status: 'passed', detail: `${label}: ${comparison}, within the ${formatNumber(LATENCY_REGRESSION_FLOOR_MS)} ms noise floor)` }
        : { name, status: beyondTolerance ? 'failed' : 'passed', detail: `${label}: ${comparison})` },
    );
  }

  const change = relativeChange(figures.rps, previous.rps);
  results.push({
    name: 'rps regression',
    status: -change > tolerance + EPSILON ? 'failed' : 'passed',
    detail: `rps drop ≤ ${allowed} vs baseline: ${figures.rps.toFixed(1)} req/s vs ${previous.rps.toFixed(1)} req/s (${formatChange(change)})`,
  });
  return results;
}

/** (value − before) / before; a rise from 0 is +∞, 0 → 0 is no change. */
function relativeChange(value: number, before: number): number {
  if (before === 0) return value === 0 ? 0 : Infinity;
  return (value - before) / before;
}

function formatChange(change: number): string {
  if (change === Infinity) return '+∞%';
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** A declared number as written: 150, 0.5, 2.5 (no trailing zeros, no float noise). */
function formatNumber(value: number): string {
  return String(round(value, 6));
}

function formatSeconds(ms: number): string {
  return `${formatNumber(ms / 1000)} s`;
}

function usToMs(us: number): number {
  return round(us / 1000, 3);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The per-figure median of several runs' figures (undefined for none): the regression baseline,
 * so one unusually fast run on a noisy machine does not make every later run "regress".
 */
export function medianFigures(runs: readonly LoadFigures[]): LoadFigures | undefined {
  if (runs.length === 0) return undefined;
  const median = (pick: (figures: LoadFigures) => number): number => {
    const values = runs.map(pick).sort((a, b) => a - b);
    const middle = Math.floor(values.length / 2);
    return values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
  };
  return {
    requests: median((figures) => figures.requests),
    responses: median((figures) => figures.responses),
    errors: median((figures) => figures.errors),
    errorRate: median((figures) => figures.errorRate),
    rps: median((figures) => figures.rps),
    latencyMs: {
      p50: median((figures) => figures.latencyMs.p50),
      p95: median((figures) => figures.latencyMs.p95),
      p99: median((figures) => figures.latencyMs.p99),
      mean: median((figures) => figures.latencyMs.mean),
      max: median((figures) => figures.latencyMs.max),
    },
    durationMs: median((figures) => figures.durationMs),
  };
}
