import { describe, expect, it } from 'vitest';
import type { Arm, RequestRecord } from '../../../src/proxy/types.js';
import { createStepAggregator, type StepAggregatorOptions } from '../../../src/release/recording/step-aggregator.js';
import { releaseConfig } from '../release/judge-support.js';

const S = 1_000_000_000;
const START = 5_000 * S;

/** Monotonic ns `seconds` after the step start, as the proxy writes it. */
function at(seconds: number): string {
  return (BigInt(START) + BigInt(Math.round(seconds * S))).toString();
}

function request(overrides: Partial<RequestRecord> & { seconds?: number } = {}): RequestRecord {
  const { seconds = 0, ...rest } = overrides;
  return {
    seq: 0,
    tMonoNs: at(seconds),
    step: 1,
    arm: 'canary',
    routeKey: 'GET /',
    method: 'GET',
    status: 200,
    upstreamError: 'none',
    ttfbUs: 1_000,
    totalUs: 40_000,
    bytesOut: 100,
    override: false,
    mirrored: false,
    ...rest,
  };
}

function aggregator(overrides: Partial<StepAggregatorOptions> = {}, config = releaseConfig({ slo: { latencyMs: 80 } })) {
  return createStepAggregator({ step: 1, stepStartNs: at(0), config, seed: 42, previousBaselineLatenciesMs: [], ...overrides });
}

/** `count` requests on each analysed arm, canary first, at `seconds`. */
function pairs(agg: ReturnType<typeof aggregator>, count: number, seconds: number, extra: Partial<RequestRecord> = {}): void {
  for (let i = 0; i < count; i++) {
    agg.addRequest(request({ arm: 'canary', seconds, ...extra }));
    agg.addRequest(request({ arm: 'baseline', seconds, ...extra }));
  }
}

describe('warm-up: 10 s and 20 requests per arm, whichever ends later', () => {
  it.each([
    { name: 'requests done, time not: still warming up', before: 20, probeAt: 9.999, analysed: 0 },
    { name: 'requests done, time reached exactly: analysed', before: 20, probeAt: 10, analysed: 1 },
    { name: 'time long past, 19 requests: the probe is the 20th, still warm-up', before: 19, probeAt: 30, analysed: 0 },
    { name: 'time long past, 20 requests: analysed', before: 20, probeAt: 30, analysed: 1 },
  ])('$name', ({ before, probeAt, analysed }) => {
    const agg = aggregator();
    pairs(agg, before, 1);
    pairs(agg, 1, probeAt);
    expect(agg.snapshot(at(probeAt)).analysed).toEqual({ canary: analysed, baseline: analysed });
  });

  it('ends in the snapshot by time alone once the requests are there', () => {
    const agg = aggregator();
    pairs(agg, 20, 1);
    expect(agg.snapshot(at(9.9)).warmingUp).toBe(true);
    expect(agg.snapshot(at(10)).warmingUp).toBe(false);
  });

  it('waits for the slower arm', () => {
    const agg = aggregator();
    for (let i = 0; i < 40; i++) agg.addRequest(request({ arm: 'canary', seconds: 1 }));
    for (let i = 0; i < 19; i++) agg.addRequest(request({ arm: 'baseline', seconds: 1 }));
    expect(agg.snapshot(at(60)).warmingUp).toBe(true);
  });

  it('with warmup 0 s / 0 requests analyses from the first request', () => {
    const agg = aggregator({ config: releaseConfig({ warmup: { seconds: 0, requests: 0 }, slo: { latencyMs: 80 } }) });
    pairs(agg, 1, 0);
    expect(agg.snapshot(at(0)).analysed).toEqual({ canary: 1, baseline: 1 });
  });
});

/** An aggregator past warm-up (20 healthy pairs in the first second, judged from 10 s). */
function warmed(overrides: Partial<StepAggregatorOptions> = {}) {
  const agg = aggregator(overrides);
  pairs(agg, 20, 1);
  return agg;
}

describe('exclusions', () => {
  it.each<{ name: string; extra: Partial<RequestRecord> }>([
    { name: 'override traffic', extra: { override: true } },
    { name: 'mirrored traffic', extra: { mirrored: true } },
    { name: 'prod', extra: { arm: 'prod' } },
    { name: 'another step', extra: { step: 2 } },
  ])('$name is not analysed, counted or run-tracked', ({ extra }) => {
    const agg = warmed();
    agg.addRequest(request({ seconds: 11, status: 503, ...extra }));
    agg.addRequest(request({ seconds: 11, status: 200, totalUs: 900_000, ...extra }));
    const snapshot = agg.snapshot(at(12));
    expect(snapshot.analysed).toEqual({ canary: 0, baseline: 0 });
    expect(snapshot.events).toEqual([]);
    expect(snapshot.latencyMs.canary.length).toBe(0);
    expect(snapshot.longestCanaryBadRun).toBe(0);
  });
});

describe('bad and slow (slow threshold 80 ms from the SLO)', () => {
  it.each<{ name: string; extra: Partial<RequestRecord>; kind: 'bad' | 'slow' | null; latencyMs: number | null }>([
    { name: '500', extra: { status: 500 }, kind: 'bad', latencyMs: null },
    { name: '503', extra: { status: 503 }, kind: 'bad', latencyMs: null },
    { name: '499 (4xx is not bad)', extra: { status: 499 }, kind: null, latencyMs: 40 },
    { name: '404', extra: { status: 404 }, kind: null, latencyMs: 40 },
    { name: '200 with a reset upstream', extra: { upstreamError: 'reset' }, kind: 'bad', latencyMs: null },
    { name: 'proxy timeout', extra: { status: 504, upstreamError: 'timeout', totalUs: 10_000_000 }, kind: 'bad', latencyMs: null },
    { name: 'exactly at the threshold', extra: { totalUs: 80_000 }, kind: null, latencyMs: 80 },
    { name: 'just above the threshold', extra: { totalUs: 80_001 }, kind: 'slow', latencyMs: 80.001 },
  ])('$name', ({ extra, kind, latencyMs }) => {
    const agg = warmed();
    agg.addRequest(request({ arm: 'baseline', seconds: 11, ...extra }));
    const snapshot = agg.snapshot(at(12));
    expect(snapshot.slowThresholdMs).toBe(80);
    expect(snapshot.analysed.baseline).toBe(1);
    expect(snapshot.events).toEqual(kind === null ? [] : [{ arm: 'baseline', kind }]);
    expect(Array.from(snapshot.latencyMs.baseline)).toEqual(latencyMs === null ? [] : [latencyMs]);
  });

  it('keeps the event stream in arrival order across arms and kinds', () => {
    const agg = warmed();
    agg.addRequest(request({ arm: 'canary', seconds: 11, status: 502 }));
    agg.addRequest(request({ arm: 'baseline', seconds: 11, totalUs: 95_000 }));
    agg.addLogLine({ arm: 'baseline', line: 'ERROR boom', tMonoNs: at(11) });
    agg.addRequest(request({ arm: 'canary', seconds: 11, totalUs: 81_000 }));
    expect(agg.snapshot(at(12)).events).toEqual([
      { arm: 'canary', kind: 'bad' },
      { arm: 'baseline', kind: 'slow' },
      { arm: 'baseline', kind: 'logError' },
      { arm: 'canary', kind: 'slow' },
    ]);
  });

  it('fixes the first step threshold at the end of warm-up from the warm-up baseline', () => {
    const config = releaseConfig({ warmup: { seconds: 1, requests: 60 } });
    const agg = createStepAggregator({ step: 1, stepStartNs: at(0), config, seed: 1, previousBaselineLatenciesMs: null });
    for (let i = 0; i < 60; i++) {
      agg.addRequest(request({ arm: 'canary', seconds: 0.5, totalUs: 10_000 + i * 1_000 }));
      agg.addRequest(request({ arm: 'baseline', seconds: 0.5, totalUs: 10_000 + i * 1_000 }));
    }
    expect(agg.snapshot(at(0.9)).slowThresholdMs).toBeNull();
    // 60 samples 10..69 ms: the distribution-free p95 bound is the largest.
    expect(agg.snapshot(at(1)).slowThresholdMs).toBe(69);
  });
});

describe('latency reservoir', () => {
  const sample = (seed: number) => {
    const agg = warmed({ seed, latencyCapPerArm: 100 });
    for (let i = 0; i < 1_000; i++) agg.addRequest(request({ arm: 'canary', seconds: 11, totalUs: 1_000 + i }));
    return Array.from(agg.snapshot(at(12)).latencyMs.canary);
  };

  it('caps the kept latencies and draws the same sample for the same seed', () => {
    const first = sample(7);
    expect(first).toHaveLength(100);
    expect(sample(7)).toEqual(first);
    expect(sample(8)).not.toEqual(first);
    // A uniform sample of 1000 values reaches well past the first 100.
    expect(first.filter((ms) => ms >= 1.1).length).toBeGreaterThan(50);
    expect(new Set(first).size).toBe(100);
  });

  it('keeps the analysed count exact beyond the cap', () => {
    const agg = warmed({ latencyCapPerArm: 10 });
    pairs(agg, 50, 11);
    const snapshot = agg.snapshot(at(12));
    expect(snapshot.analysed).toEqual({ canary: 50, baseline: 50 });
    expect(snapshot.latencyMs.canary).toHaveLength(10);
  });
});

describe('consecutive bad canary responses', () => {
  const run = (sequence: string): number => {
    const agg = aggregator();
    // c = canary good, C = canary bad, B = baseline bad; warm-up included.
    for (const [i, code] of [...sequence].entries()) {
      const arm: Arm = code === 'B' ? 'baseline' : 'canary';
      agg.addRequest(request({ arm, seconds: i * 0.5, status: code === 'c' ? 200 : 500 }));
    }
    return agg.snapshot(at(60)).longestCanaryBadRun;
  };

  it.each([
    { sequence: '', longest: 0 },
    { sequence: 'cccc', longest: 0 },
    { sequence: 'CCCcCCCCc', longest: 4 },
    { sequence: 'CCBBCC', longest: 4 },
    { sequence: 'CCcCC', longest: 2 },
    { sequence: 'cCCCCCCCCCCCCCCCCCCCCCCCC', longest: 24 },
  ])('$sequence → $longest', ({ sequence, longest }) => {
    expect(run(sequence)).toBe(longest);
  });
});

describe('log lines', () => {
  it('counts matching lines of analysed arms after warm-up only', () => {
    const agg = aggregator();
    agg.addLogLine({ arm: 'canary', line: 'ERROR during warm-up', tMonoNs: at(1) });
    pairs(agg, 20, 1);
    agg.addLogLine({ arm: 'canary', line: 'ERROR after warm-up', tMonoNs: at(11) });
    agg.addLogLine({ arm: 'canary', line: 'all good, no error here', tMonoNs: at(11) });
    agg.addLogLine({ arm: 'prod', line: 'FATAL prod noise', tMonoNs: at(11) });
    expect(agg.snapshot(at(12)).events).toEqual([{ arm: 'canary', kind: 'logError' }]);
  });

  it.each([
    { name: 'canary-only, 3 times: new', elsewhere: null, expected: [{ fingerprint: 'ERROR lookup failed for id <num>', canaryCount: 3 }] },
    { name: 'also printed by prod: not new', elsewhere: 'prod' as const, expected: [] },
    { name: 'also printed by the baseline: not new', elsewhere: 'baseline' as const, expected: [] },
  ])('fingerprints: $name', ({ elsewhere, expected }) => {
    const agg = warmed();
    if (elsewhere !== null) agg.addLogLine({ arm: elsewhere, line: 'ERROR lookup failed for id 9', tMonoNs: at(11) });
    for (const id of [1, 22, 333]) agg.addLogLine({ arm: 'canary', line: `ERROR lookup failed for id ${id}`, tMonoNs: at(11) });
    expect(agg.snapshot(at(12)).newFingerprints).toEqual(expected);
  });

  it('carries fingerprints over steps', () => {
    const first = warmed();
    first.addLogLine({ arm: 'prod', line: 'ERROR lookup failed for id 9', tMonoNs: at(11) });
    const second = createStepAggregator({
      step: 2,
      stepStartNs: at(20),
      config: releaseConfig(),
      seed: 1,
      previousBaselineLatenciesMs: first.baselineLatenciesMs(),
      previousFingerprints: first.fingerprints(),
    });
    for (const id of [1, 2, 3]) second.addLogLine({ arm: 'canary', line: `ERROR lookup failed for id ${id}`, tMonoNs: at(21) });
    expect(second.snapshot(at(22)).newFingerprints).toEqual([]);
  });
});

describe('snapshot', () => {
  it('is a copy: later input does not change it', () => {
    const agg = warmed();
    pairs(agg, 1, 11, { status: 500 });
    const before = agg.snapshot(at(12));
    pairs(agg, 5, 12, { status: 500 });
    agg.setHealth('canary', 'exited');
    expect(before.analysed).toEqual({ canary: 1, baseline: 1 });
    expect(before.events).toHaveLength(2);
    expect(before.health.canary).toBe('running');
    expect(agg.snapshot(at(13)).health).toEqual({ canary: 'exited', baseline: 'running' });
  });

  it('reports step, weight, π, elapsed ms and the seed', () => {
    const snapshot = aggregator().snapshot(at(2.5));
    expect(snapshot).toMatchObject({ step: 1, weight: 10, pi: 0.5, elapsedMs: 2_500, seed: 42, warmingUp: true });
  });
});
