/**
 * The judge's rules one by one (src/release/analysis/judge.ts, canary.md §3.3f): guardrails, count
 * SPRTs, step minimums, the latency gate, fingerprints and manual gates, plus the α budget, the
 * slow threshold and replay determinism.
 */
import { describe, expect, it } from 'vitest';
import { alphaBudget, judge, slowThresholdMs, type Reason, type Verdict } from '../../../src/release/analysis/judge.js';
import type { CountEvent, CountMetric, StepSnapshot } from '../../../src/release/analysis/snapshot.js';
import { releaseConfig, snapshotOf, XorShift128 } from './judge-support.js';

const config = releaseConfig();
const K = config.steps.length;

const repeat = (count: number, arm: 'canary' | 'baseline', kind: CountMetric): CountEvent[] => Array.from({ length: count }, () => ({ arm, kind }));
const codes = (verdict: Verdict): Reason['code'][] => verdict.reasons.map((r) => r.code);

/** Lognormal latencies (ms) from the tests' own generator. */
function latencies(seed: number, n: number, medianMs: number): number[] {
  const rng = new XorShift128(seed);
  return Array.from({ length: n }, () => rng.lognormal(medianMs, 0.5));
}

describe('defaults', () => {
  it('has the canary.md §3.5 defaults, so the judge tests run on the real schema', () => {
    expect(config.steps).toEqual([10, 25, 50]);
    expect([config.stepMinRequests, config.stepMinDuration, config.stepMaxDuration]).toEqual([400, 30_000, 600_000]);
    expect(config.alpha).toBe(0.01);
  });
});

describe('alphaBudget', () => {
  it('splits α = 0.01 into errors 0.004 (bad 0.002 + log errors 0.002), slow 0.003, latency 0.003, each / K', () => {
    const budget = alphaBudget(0.01, 3);
    expect(budget.perRelease.bad).toBeCloseTo(0.002, 15);
    expect(budget.perRelease.logError).toBeCloseTo(0.002, 15);
    expect(budget.perRelease.slow).toBeCloseTo(0.003, 15);
    expect(budget.perRelease.latency).toBeCloseTo(0.003, 15);
    const total = budget.perRelease.bad + budget.perRelease.logError + budget.perRelease.slow + budget.perRelease.latency;
    expect(total).toBeCloseTo(0.01, 15);
    expect(budget.perStep.latency).toBeCloseTo(0.001, 15);
    expect(budget.perStep.bad).toBeCloseTo(0.002 / 3, 15);
  });

  it('puts the thresholds ln(K/α_m) into the verdict', () => {
    const { counts } = judge(snapshotOf(), config, K).stats;
    expect(counts.bad.threshold).toBeCloseTo(Math.log(1500), 12);
    expect(counts.logError.threshold).toBeCloseTo(Math.log(1500), 12);
    expect(counts.slow.threshold).toBeCloseTo(Math.log(1000), 12);
  });
});

describe('guardrails', () => {
  it.each([
    ['exited', 'rollback'],
    ['unhealthy', 'rollback'],
    ['starting', 'advance'],
    ['running', 'advance'],
    ['healthy', 'advance'],
  ] as const)('canary %s → %s', (health, action) => {
    const verdict = judge(snapshotOf({ health: { canary: health, baseline: 'healthy' } }), config, K);
    expect(verdict.action).toBe(action);
    if (action === 'rollback') expect(verdict.reasons).toEqual([{ code: 'canary-down', message: expect.stringContaining(health === 'exited' ? 'exited' : 'unhealthy'), health }]);
  });

  it('rolls back on 5 consecutive bad canary responses, even during warm-up with no analysed data', () => {
    const warmingUp = { warmingUp: true, analysed: { canary: 0, baseline: 0 }, latencyMs: { canary: [], baseline: [] }, elapsedMs: 2000 };
    expect(judge(snapshotOf({ ...warmingUp, longestCanaryBadRun: 4 }), config, K).action).toBe('continue');
    const verdict = judge(snapshotOf({ ...warmingUp, longestCanaryBadRun: 5 }), config, K);
    expect(verdict.action).toBe('rollback');
    expect(verdict.reasons[0]).toMatchObject({ code: 'consecutive-bad', run: 5, limit: 5 });
  });

  it('rolls back at a canary bad-rate ≥ 50% once 10 canary requests are analysed', () => {
    const events = [...repeat(5, 'canary', 'bad')];
    const early = judge(snapshotOf({ analysed: { canary: 9, baseline: 9 }, events, elapsedMs: 5000 }), config, K);
    expect(early.action).toBe('continue');
    const verdict = judge(snapshotOf({ analysed: { canary: 10, baseline: 10 }, events, elapsedMs: 5000 }), config, K);
    expect(verdict.action).toBe('rollback');
    expect(verdict.reasons).toEqual([
      { code: 'bad-rate', message: 'canary bad-rate 50% (5 of 10 analysed requests) ≥ 50%', rate: 0.5, bad: 5, requests: 10, limit: 0.5, minRequests: 10 },
    ]);
  });

  it('reports every guardrail that fired', () => {
    const verdict = judge(
      snapshotOf({ health: { canary: 'exited', baseline: 'healthy' }, longestCanaryBadRun: 7, analysed: { canary: 10, baseline: 10 }, events: repeat(10, 'canary', 'bad') }),
      config,
      K,
    );
    expect(codes(verdict)).toEqual(['canary-down', 'consecutive-bad', 'bad-rate']);
  });
});

describe('count SPRTs', () => {
  it('rolls back on bad responses when L reaches ln(K/α_bad) = 7.31: 19 canary events and none on the baseline', () => {
    expect(judge(snapshotOf({ events: repeat(18, 'canary', 'bad') }), config, K).action).toBe('advance');
    const verdict = judge(snapshotOf({ events: repeat(19, 'canary', 'bad') }), config, K);
    expect(verdict.action).toBe('rollback');
    const reason = verdict.reasons[0]!;
    expect(reason).toMatchObject({ code: 'count-regression', metric: 'bad', event: 19, canaryEvents: 19, baselineEvents: 0, pi: 0.5, theta: 3 });
    expect(reason.message).toBe('bad responses: log e-value reached 7.7 ≥ threshold 7.31 at event 19 (canary 19, baseline 0; π 0.5, θ 3, α 0.000667 per step)');
  });

  it('acts on the first crossing even when later baseline events bring L back down', () => {
    const events = [...repeat(19, 'canary', 'bad'), ...repeat(10, 'baseline', 'bad')];
    const verdict = judge(snapshotOf({ events }), config, K);
    expect(verdict.action).toBe('rollback');
    expect(verdict.stats.counts.bad.logE).toBeLessThan(verdict.stats.counts.bad.threshold);
    expect(verdict.stats.counts.bad.crossing?.event).toBe(19);
  });

  it('weighs baseline events against the canary: 21 canary vs 2 baseline events do not cross, 22 vs 2 do', () => {
    // L = c·ln 1.5 + b·ln 0.5: 21·0.405 − 2·0.693 = 7.13 < 7.31; 22 → 7.53.
    const interleave = (canary: number) => [...repeat(10, 'canary', 'bad'), ...repeat(2, 'baseline', 'bad'), ...repeat(canary - 10, 'canary', 'bad')];
    expect(judge(snapshotOf({ events: interleave(21) }), config, K).action).toBe('advance');
    expect(judge(snapshotOf({ events: interleave(22) }), config, K).reasons[0]).toMatchObject({ metric: 'bad', canaryEvents: 22, baselineEvents: 2 });
  });

  it('tests slow responses (threshold ln(3/0.003) = 6.91, 18 events) only when the step has a slow threshold', () => {
    const events = repeat(18, 'canary', 'slow');
    const verdict = judge(snapshotOf({ events }), config, K);
    expect(verdict.action).toBe('rollback');
    expect(verdict.reasons[0]).toMatchObject({ code: 'count-regression', metric: 'slow', event: 18 });
    const skipped = judge(snapshotOf({ events, slowThresholdMs: null }), config, K);
    expect(skipped.action).toBe('advance');
    expect(skipped.stats.counts.slow.skipped).toMatch(/fewer than 59/);
  });

  it('tests error log lines on their own stream', () => {
    const events = [...repeat(18, 'canary', 'logError'), ...repeat(18, 'canary', 'bad').map((e, i) => (i % 2 ? e : { ...e, arm: 'baseline' as const }))];
    expect(judge(snapshotOf({ events }), config, K).action).toBe('advance');
    const verdict = judge(snapshotOf({ events: [...events, { arm: 'canary', kind: 'logError' }] }), config, K);
    expect(verdict.reasons).toEqual([expect.objectContaining({ code: 'count-regression', metric: 'logError', canaryEvents: 19 })]);
  });

  it('rolls back before the step minimums are met: the count tests are anytime-valid', () => {
    const verdict = judge(snapshotOf({ analysed: { canary: 60, baseline: 60 }, elapsedMs: 12_000, events: repeat(19, 'canary', 'bad') }), config, K);
    expect(verdict.action).toBe('rollback');
    expect(verdict.stats.latency).toBeNull();
  });

  it('uses the oddsRatio from the config', () => {
    const theta2 = releaseConfig({ counts: { oddsRatio: 2 } });
    // q = 2/3: each canary event adds ln(4/3) = 0.288, so 19 events (5.47) are not enough.
    expect(judge(snapshotOf({ events: repeat(19, 'canary', 'bad') }), theta2, K).action).toBe('advance');
  });
});

describe('step minimums (never roll back on no data)', () => {
  const none = { analysed: { canary: 0, baseline: 0 }, latencyMs: { canary: [], baseline: [] } };

  it('continues while warming up or collecting, and is inconclusive from stepMaxDuration on', () => {
    expect(judge(snapshotOf({ ...none, warmingUp: true, elapsedMs: 3000 }), config, K).reasons[0]!.code).toBe('warming-up');
    expect(judge(snapshotOf({ analysed: { canary: 399, baseline: 1000 }, elapsedMs: 90_000 }), config, K).reasons[0]!.code).toBe('collecting');
    expect(judge(snapshotOf({ elapsedMs: 29_999 }), config, K).action).toBe('continue');
    expect(judge(snapshotOf({ elapsedMs: 30_000 }), config, K).action).toBe('advance');
    const verdict = judge(snapshotOf({ analysed: { canary: 12, baseline: 11 }, elapsedMs: 600_000 }), config, K);
    expect(verdict.action).toBe('inconclusive');
    expect(verdict.reasons[0]).toMatchObject({ code: 'insufficient-data', analysed: { canary: 12, baseline: 11 }, minRequests: 400, maxDurationMs: 600_000 });
    expect(verdict.reasons[0]!.message).toBe(
      'not enough data after 600 s (step limit 600 s): analysed canary 12, baseline 11 of 400 requests per arm; 600 s of at least 30 s',
    );
  });

  it('never rolls back on zero traffic: continue every second, then inconclusive', () => {
    const actions = new Set<string>();
    for (let ms = 0; ms <= 700_000; ms += 1000) {
      const verdict = judge(snapshotOf({ ...none, warmingUp: ms < 10_000, elapsedMs: ms }), config, K);
      actions.add(verdict.action);
      expect(verdict.action).toBe(ms >= 600_000 ? 'inconclusive' : 'continue');
    }
    expect(actions).toEqual(new Set(['continue', 'inconclusive']));
  });

  it('needs good responses on both arms before comparing latencies', () => {
    const verdict = judge(snapshotOf({ latencyMs: { canary: [], baseline: [50] } }), config, K);
    expect(verdict.action).toBe('continue');
    expect(verdict.reasons[0]!.message).toContain('good responses canary 0, baseline 1');
  });

  it('is inconclusive when the baseline container fails (nothing to compare with)', () => {
    const verdict = judge(snapshotOf({ health: { canary: 'healthy', baseline: 'exited' } }), config, K);
    expect(verdict).toMatchObject({ action: 'inconclusive', reasons: [{ code: 'baseline-down', health: 'exited' }] });
  });
});

describe('latency: Mann-Whitney significance and Hodges-Lehmann practical effect', () => {
  it('rolls back a +50% median shift at 400 per arm', () => {
    const verdict = judge(snapshotOf({ latencyMs: { canary: latencies(1, 400, 75), baseline: latencies(2, 400, 50) } }), config, K);
    expect(verdict.action).toBe('rollback');
    const latency = verdict.stats.latency!;
    expect(latency).toMatchObject({ method: 'asymptotic', hlMethod: 'exact', significant: true, practical: true, alpha: 0.001 });
    expect(latency.p).toBeLessThan(1e-10);
    expect(latency.hlMs).toBeGreaterThan(15);
    expect(verdict.reasons[0]).toMatchObject({ code: 'latency-regression', p: latency.p, u: latency.u, hlMs: latency.hlMs, minShiftMs: latency.minShiftMs });
    expect(latency.minShiftMs).toBeCloseTo(0.1 * latency.medianMs.baseline, 10);
  });

  it('does not roll back a significant shift below the practical minimum (10% of the baseline median)', () => {
    // +4% at 5 000 per arm: p tiny, but 8 ms < 20 ms (10% of a 200 ms median).
    const verdict = judge(
      snapshotOf({ analysed: { canary: 5000, baseline: 5000 }, latencyMs: { canary: latencies(3, 5000, 208), baseline: latencies(4, 5000, 200) } }),
      config,
      K,
    );
    expect(verdict.stats.latency).toMatchObject({ significant: true, practical: false, hlMethod: 'reservoir' });
    expect(verdict.stats.latency!.minShiftMs).toBeCloseTo(20, 0);
    expect(verdict.action).toBe('advance');
  });

  it('does not roll back a large but insignificant shift (small, noisy samples)', () => {
    const small = releaseConfig({ stepMinRequests: 8 });
    const verdict = judge(
      snapshotOf({ analysed: { canary: 8, baseline: 8 }, latencyMs: { canary: [41, 90, 55, 130, 61, 45, 70, 100], baseline: [50, 35, 80, 60, 120, 40, 65, 52] } }),
      small,
      K,
    );
    expect(verdict.stats.latency).toMatchObject({ method: 'exact', practical: true, significant: false });
    expect(verdict.action).toBe('advance');
  });

  it('never rolls back a faster canary', () => {
    const verdict = judge(snapshotOf({ latencyMs: { canary: latencies(5, 400, 30), baseline: latencies(6, 400, 50) } }), config, K);
    expect(verdict.action).toBe('advance');
    expect(verdict.stats.latency!.hlMs).toBeLessThan(0);
  });

  it('uses minShiftMs when 10% of the baseline median is smaller', () => {
    const verdict = judge(snapshotOf({ latencyMs: { canary: latencies(7, 400, 24), baseline: latencies(8, 400, 20) } }), config, K);
    expect(verdict.stats.latency!.minShiftMs).toBe(5);
  });
});

describe('gates', () => {
  it('gates on new canary-only error fingerprints instead of rolling back', () => {
    const newFingerprints = [{ fingerprint: 'ERROR cache miss for <str>', canaryCount: 4 }];
    const verdict = judge(snapshotOf({ newFingerprints }), config, K);
    expect(verdict.action).toBe('gate');
    expect(verdict.reasons).toEqual([
      {
        code: 'new-fingerprints',
        message: 'the canary logs 1 error kind(s) the baseline and prod never logged: "ERROR cache miss for <str>" (4×)',
        fingerprints: newFingerprints,
      },
    ]);
  });

  it.each([
    [{ beforePromote: 'manual' }, 3, 'gate', 'promote'],
    [{ beforePromote: 'manual' }, 2, 'advance', undefined],
    [{ beforePromote: 'auto' }, 3, 'advance', undefined],
    [{ beforeStep: [25] }, 1, 'gate', 'step'],
    [{ beforeStep: [25] }, 2, 'advance', undefined],
    [{ beforeStep: [50] }, 2, 'gate', 'step'],
  ] as const)('gates %j at step %d → %s', (gates, step, action, before) => {
    const verdict = judge(snapshotOf({ step }), releaseConfig({ gates }), K);
    expect(verdict.action).toBe(action);
    if (before !== undefined) expect(verdict.reasons).toEqual([expect.objectContaining({ code: 'manual-gate', before })]);
  });

  it('advances with a reason that names the margins', () => {
    const verdict = judge(snapshotOf(), config, K);
    expect(verdict.action).toBe('advance');
    expect(verdict.reasons[0]!.message).toMatch(/^step 1 passed: bad max L 0 < 7\.31, slow max L 0 < 6\.91, logError max L 0 < 7\.31; latency p = /);
  });
});

describe('slowThresholdMs', () => {
  const grid = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it.each([
    ['fewer than 59 baseline samples, no SLO → skipped', {}, grid(58), null],
    ['fewer than 59, SLO 250 ms → the SLO', { slo: { latencyMs: 250 } }, grid(58), 250],
    ['59 samples → their maximum', {}, grid(59), 59],
    ['400 samples → the 388th (upper bound of the p95)', {}, grid(400), 388],
    ['SLO above the p95 bound wins', { slo: { latencyMs: 500 } }, grid(400), 500],
    ['p95 bound above the SLO wins', { slo: { latencyMs: 100 } }, grid(400), 388],
    ['a fixed slowThreshold replaces the rule', { latency: { slowThreshold: '150ms' } }, grid(10), 150],
  ] as const)('%s', (_name, overrides, samples, expected) => {
    expect(slowThresholdMs(releaseConfig(overrides), samples)).toBe(expected);
  });
});

describe('determinism and the audit record', () => {
  it('gives the same verdict for the same snapshot, byte for byte, including seeded reservoirs', () => {
    const snapshot: StepSnapshot = snapshotOf({
      analysed: { canary: 3000, baseline: 3000 },
      latencyMs: { canary: latencies(9, 3000, 51), baseline: latencies(10, 3000, 50) },
      events: [...repeat(3, 'canary', 'bad'), ...repeat(2, 'baseline', 'slow')],
      seed: 77,
    });
    const first = JSON.stringify(judge(snapshot, config, K));
    const replay = JSON.stringify(judge(structuredClone(snapshot), config, K));
    expect(replay).toBe(first);
    expect(JSON.parse(first).stats.latency.hlMethod).toBe('reservoir');
  });

  it('produces plain JSON: no NaN, Infinity or undefined to lose on the way to verdict.json', () => {
    for (const snapshot of [
      snapshotOf(),
      snapshotOf({ analysed: { canary: 0, baseline: 0 }, latencyMs: { canary: [], baseline: [] }, slowThresholdMs: null, elapsedMs: 700_000 }),
      snapshotOf({ events: repeat(30, 'canary', 'bad') }),
    ]) {
      const verdict = judge(snapshot, config, K);
      expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
    }
  });

  it('does not modify the snapshot', () => {
    const snapshot = snapshotOf({ latencyMs: { canary: [3, 1, 2], baseline: [9, 7, 8] }, analysed: { canary: 400, baseline: 400 } });
    const before = structuredClone(snapshot);
    judge(snapshot, config, K);
    expect(snapshot).toEqual(before);
  });
});
