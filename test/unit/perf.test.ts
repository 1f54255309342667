import { describe, expect, it } from 'vitest';
import { judgePerf, LATENCY_REGRESSION_FLOOR_MS, loadFiguresSchema, type LoadFigures, type PerfThresholds } from '../../src/pipeline/perf.js';

function figures(overrides: Partial<Omit<LoadFigures, 'latencyMs'>> & { latencyMs?: Partial<LoadFigures['latencyMs']> } = {}): LoadFigures {
  const { latencyMs, ...rest } = overrides;
  return {
    requests: 1000,
    responses: 1000,
    errors: 0,
    errorRate: 0,
    rps: 500,
    durationMs: 2000,
    ...rest,
    latencyMs: { p50: 20, p95: 40, p99: 60, mean: 22, max: 80, ...latencyMs },
  };
}

describe('judgePerf: thresholds', () => {
  const cases: Array<{ title: string; measured: LoadFigures; thresholds: PerfThresholds; status: 'passed' | 'failed'; detail: string }> = [
    { title: 'p50 below its limit', measured: figures(), thresholds: { p50: 25 }, status: 'passed', detail: 'p50 ≤ 25 ms: 20.0 ms' },
    { title: 'p50 exactly at its limit', measured: figures(), thresholds: { p50: 20 }, status: 'passed', detail: 'p50 ≤ 20 ms: 20.0 ms' },
    { title: 'p50 just above its limit', measured: figures({ latencyMs: { p50: 20.001 } }), thresholds: { p50: 20 }, status: 'failed', detail: 'p50 ≤ 20 ms: 20.0 ms' },
    { title: 'p95 exactly at its limit', measured: figures({ latencyMs: { p95: 150 } }), thresholds: { p95: 150 }, status: 'passed', detail: 'p95 ≤ 150 ms: 150.0 ms' },
    { title: 'p95 above its limit', measured: figures({ latencyMs: { p95: 150.1 } }), thresholds: { p95: 150 }, status: 'failed', detail: 'p95 ≤ 150 ms: 150.1 ms' },
    { title: 'p99 exactly at its limit', measured: figures(), thresholds: { p99: 60 }, status: 'passed', detail: 'p99 ≤ 60 ms: 60.0 ms' },
    { title: 'p99 above its limit', measured: figures({ latencyMs: { p99: 61 } }), thresholds: { p99: 60 }, status: 'failed', detail: 'p99 ≤ 60 ms: 61.0 ms' },
    { title: 'error rate exactly at its limit', measured: figures({ errors: 10, errorRate: 0.01 }), thresholds: { errors: 0.01 }, status: 'passed', detail: 'errors ≤ 1%: 1.00% (10 of 1000 requests)' },
    { title: 'error rate above its limit', measured: figures({ errors: 11, errorRate: 0.011 }), thresholds: { errors: 0.01 }, status: 'failed', detail: 'errors ≤ 1%: 1.10% (11 of 1000 requests)' },
    { title: 'zero errors allowed, none', measured: figures(), thresholds: { errors: 0 }, status: 'passed', detail: 'errors ≤ 0%: 0.00% (0 of 1000 requests)' },
    { title: 'zero errors allowed, one', measured: figures({ errors: 1, errorRate: 0.001 }), thresholds: { errors: 0 }, status: 'failed', detail: 'errors ≤ 0%: 0.10% (1 of 1000 requests)' },
    { title: 'throughput exactly at its minimum', measured: figures(), thresholds: { rps: 500 }, status: 'passed', detail: 'rps ≥ 500 req/s: 500.0 req/s' },
    { title: 'throughput below its minimum', measured: figures({ rps: 499.9 }), thresholds: { rps: 500 }, status: 'failed', detail: 'rps ≥ 500 req/s: 499.9 req/s' },
    { title: 'no responses: a latency limit fails', measured: figures({ responses: 0, requests: 5, errors: 5, errorRate: 1, rps: 0, latencyMs: { p50: 0, p95: 0, p99: 0, mean: 0, max: 0 } }), thresholds: { p95: 100 }, status: 'failed', detail: 'p95 ≤ 100 ms: no responses to measure' },
    { title: 'nothing completed: the error limit fails', measured: figures({ requests: 0, responses: 0, rps: 0 }), thresholds: { errors: 0.5 }, status: 'failed', detail: 'errors ≤ 50%: no requests completed' },
  ];

  it.each(cases)('$title', ({ measured, thresholds, status, detail }) => {
    const verdict = judgePerf(measured, thresholds, undefined, 0.1);
    expect(verdict.results).toHaveLength(1);
    expect(verdict.results[0]?.status).toBe(status);
    expect(verdict.results[0]?.detail).toBe(detail);
    expect(verdict.status).toBe(status);
  });

  it('gives one result per declared threshold, in a fixed order, and fails when any one fails', () => {
    const verdict = judgePerf(figures({ errors: 250, errorRate: 0.25 }), { rps: 100, errors: 0.01, p99: 100, p50: 50, p95: 80 }, undefined, 0.1);
    expect(verdict.results.map((result) => [result.name, result.status])).toEqual([
      ['p50', 'passed'],
      ['p95', 'passed'],
      ['p99', 'passed'],
      ['errors', 'failed'],
      ['rps', 'passed'],
    ]);
    expect(verdict.status).toBe('failed');
  });

  it('passes with no thresholds and no previous run, and reports nothing', () => {
    expect(judgePerf(figures(), {}, undefined, 0.1)).toEqual({ status: 'passed', results: [] });
  });
});

describe('judgePerf: regression against the last passing run', () => {
  const previous = figures({ latencyMs: { p50: 20, p95: 40, p99: 60 }, rps: 200 });

  type Case = { title: string; measured: LoadFigures; tolerance?: number; name: string; status: 'passed' | 'failed'; detail: string };
  const cases: Case[] = [
    { title: 'p95 up within tolerance', measured: figures({ latencyMs: { p95: 42.1 } }), name: 'p95 regression', status: 'passed', detail: 'p95 regression ≤ 10% vs baseline: 42.1 ms vs 40.0 ms (+5.3%)' },
    { title: 'p95 up exactly by the tolerance', measured: figures({ latencyMs: { p95: 44 } }), name: 'p95 regression', status: 'passed', detail: 'p95 regression ≤ 10% vs baseline: 44.0 ms vs 40.0 ms (+10.0%)' },
    { title: 'p95 up beyond the tolerance', measured: figures({ latencyMs: { p95: 44.5 } }), name: 'p95 regression', status: 'failed', detail: 'p95 regression ≤ 10% vs baseline: 44.5 ms vs 40.0 ms (+11.3%)' },
    { title: 'p50 down (faster) passes', measured: figures({ latencyMs: { p50: 10 } }), name: 'p50 regression', status: 'passed', detail: 'p50 regression ≤ 10% vs baseline: 10.0 ms vs 20.0 ms (-50.0%)' },
    { title: 'p99 up beyond a wider tolerance', measured: figures({ latencyMs: { p99: 80 } }), tolerance: 0.25, name: 'p99 regression', status: 'failed', detail: 'p99 regression ≤ 25% vs baseline: 80.0 ms vs 60.0 ms (+33.3%)' },
    { title: 'p99 up within a wider tolerance', measured: figures({ latencyMs: { p99: 75 } }), tolerance: 0.25, name: 'p99 regression', status: 'passed', detail: 'p99 regression ≤ 25% vs baseline: 75.0 ms vs 60.0 ms (+25.0%)' },
    { title: 'throughput up passes', measured: figures({ rps: 300 }), name: 'rps regression', status: 'passed', detail: 'rps drop ≤ 10% vs baseline: 300.0 req/s vs 200.0 req/s (+50.0%)' },
    { title: 'throughput down exactly by the tolerance', measured: figures({ rps: 180 }), name: 'rps regression', status: 'passed', detail: 'rps drop ≤ 10% vs baseline: 180.0 req/s vs 200.0 req/s (-10.0%)' },
    { title: 'throughput down beyond the tolerance', measured: figures({ rps: 179 }), name: 'rps regression', status: 'failed', detail: 'rps drop ≤ 10% vs baseline: 179.0 req/s vs 200.0 req/s (-10.5%)' },
    { title: 'zero tolerance: any rise fails', measured: figures({ latencyMs: { p95: 42.5 } }), tolerance: 0, name: 'p95 regression', status: 'failed', detail: 'p95 regression ≤ 0% vs baseline: 42.5 ms vs 40.0 ms (+6.3%)' },
    { title: 'no responses now: latency regression fails', measured: figures({ responses: 0, requests: 3, errors: 3, errorRate: 1, rps: 0, latencyMs: { p50: 0, p95: 0, p99: 0, mean: 0, max: 0 } }), name: 'p50 regression', status: 'failed', detail: 'p50 regression ≤ 10% vs baseline: no responses to measure' },
  ];

  it.each(cases)('$title', ({ measured, tolerance, name, status, detail }) => {
    const verdict = judgePerf(measured, {}, previous, tolerance ?? 0.1);
    const result = verdict.results.find((candidate) => candidate.name === name);
    expect(result).toEqual({ name, status, detail });
    expect(verdict.status).toBe(verdict.results.some((candidate) => candidate.status === 'failed') ? 'failed' : 'passed');
    if (status === 'failed') expect(verdict.status).toBe('failed');
  });

  it('adds one regression result per percentile and throughput after the thresholds', () => {
    const verdict = judgePerf(figures(), { p95: 100 }, previous, 0.1);
    expect(verdict.results.map((result) => result.name)).toEqual(['p95', 'p50 regression', 'p95 regression', 'p99 regression', 'rps regression']);
    expect(verdict.status).toBe('passed');
  });

  it('adds no regression results without a previous run', () => {
    const verdict = judgePerf(figures({ latencyMs: { p95: 400 }, rps: 1 }), {}, undefined, 0.1);
    expect(verdict).toEqual({ status: 'passed', results: [] });
  });
});

describe('judgePerf: the latency noise floor', () => {
  const fast = figures({ latencyMs: { p50: 0.8, p95: 1.2, p99: 2 }, rps: 5000 });
  const cases: Array<{ title: string; p50: number; status: 'passed' | 'failed'; detail: string }> = [
    { title: '0.8 ms → 1.0 ms (+25%) is noise', p50: 1, status: 'passed', detail: 'p50 regression ≤ 10% vs baseline: 1.0 ms vs 0.8 ms (+25.0%, within the 2 ms noise floor)' },
    { title: `a rise of exactly ${LATENCY_REGRESSION_FLOOR_MS} ms is still noise`, p50: 0.8 + LATENCY_REGRESSION_FLOOR_MS, status: 'passed', detail: 'p50 regression ≤ 10% vs baseline: 2.8 ms vs 0.8 ms (+250.0%, within the 2 ms noise floor)' },
    { title: 'a rise just past the floor and the tolerance fails', p50: 2.9, status: 'failed', detail: 'p50 regression ≤ 10% vs baseline: 2.9 ms vs 0.8 ms (+262.5%)' },
  ];

  it.each(cases)('$title', ({ p50, status, detail }) => {
    const verdict = judgePerf(figures({ latencyMs: { p50, p95: 1.2, p99: 2 }, rps: 5000 }), {}, fast, 0.1);
    expect(verdict.results.find((result) => result.name === 'p50 regression')).toEqual({ name: 'p50 regression', status, detail });
  });

  it('above the floor, the tolerance decides', () => {
    // 100 ms → 105 ms: +5 ms is above the floor but +5% is within 10%.
    const before = figures({ latencyMs: { p95: 100 } });
    const verdict = judgePerf(figures({ latencyMs: { p95: 105 } }), {}, before, 0.1);
    expect(verdict.results.find((result) => result.name === 'p95 regression')?.status).toBe('passed');
  });
});

describe('loadFiguresSchema', () => {
  it('reads back figures kept in a run record, and refuses what is not figures', () => {
    const kept = JSON.parse(JSON.stringify(figures())) as unknown;
    expect(loadFiguresSchema.parse(kept)).toEqual(figures());
    expect(loadFiguresSchema.safeParse({ requests: 1 }).success).toBe(false);
  });
});
