/**
 * canary.md §3.7 detection properties, by seeded simulation of releases driven by the pure judge:
 * a 100%-failing canary, a 0% → 5% error canary, a +50% latency canary, zero traffic; plus the
 * SPRT detection table of §3.3a recomputed at the design's threshold (6.62) and at envctl's (7.31).
 */
import { describe, expect, it } from 'vitest';
import { alphaBudget } from '../../../src/release/analysis/judge.js';
import { sprtIncrements, sprtThreshold } from '../../../src/release/analysis/sprt.js';
import { mannWhitneyGreater } from '../../../src/release/analysis/stats.js';
import { quantile, releaseConfig, XorShift128 } from './judge-support.js';
import { HEALTHY, report, simulateRelease, type ArmBehaviour, type ReleaseOutcome } from './simulate-support.js';

const config = releaseConfig();
const noErrors: ArmBehaviour = { ...HEALTHY, errorRate: 0 };
const cause = (outcome: ReleaseOutcome): string => {
  const reason = outcome.reasons[0];
  return reason === undefined ? outcome.action : reason.code === 'count-regression' ? `sprt:${reason.metric}` : reason.code;
};

describe('a 100%-failing canary', () => {
  it('is rolled back by the consecutive-bad guardrail after 5 canary requests, during warm-up', () => {
    const outcomes = Array.from({ length: 50 }, (_, seed) =>
      simulateRelease(seed, { canary: { ...noErrors, errorRate: 1 }, baseline: noErrors, rps: 50 }, config, true),
    );
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ action: 'rollback', step: 1, canaryRequests: 5 });
      expect(cause(outcome)).toBe('consecutive-bad');
    }
  });

  it('is rolled back by the bad-request SPRT alone within 20 analysed canary requests (guardrails off)', () => {
    const noGuardrails = releaseConfig({ guardrails: { consecutiveBad: 1_000_000, minRequests: 1_000_000 } });
    const detections = Array.from({ length: 50 }, (_, seed) => {
      const outcome = simulateRelease(seed, { canary: { ...noErrors, errorRate: 1 }, baseline: noErrors, rps: 50 }, noGuardrails, true);
      expect(cause(outcome)).toBe('sprt:bad');
      return outcome.canaryRequestsAtCrossing!;
    });
    report(`100% failing canary, SPRT only: crossing at ${quantile(detections, 0.5)} analysed canary requests (max ${Math.max(...detections)})`);
    expect(Math.max(...detections)).toBeLessThanOrEqual(20);
  });
});

describe('a canary with 5% errors against a 0% baseline', () => {
  it('is rolled back within 600 canary requests in ≥ 95% of 1000 seeds (one step of 600 per arm)', { timeout: 15_000 }, () => {
    // A step long enough to hold 600 canary requests; K stays 3, so the thresholds are the release's.
    const longStep = releaseConfig({ stepMinRequests: 600 });
    const runs = 1000;
    const detections: number[] = [];
    let rolledBack = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const outcome = simulateRelease(seed, { canary: { ...noErrors, errorRate: 0.05 }, baseline: noErrors, rps: 50 }, longStep);
      if (outcome.action === 'rollback' && outcome.step === 1) {
        rolledBack++;
        if (outcome.canaryRequestsAtCrossing !== null) detections.push(outcome.canaryRequestsAtCrossing);
      }
    }
    report(
      `0% → 5% errors, 600 canary requests: rolled back ${((rolledBack / runs) * 100).toFixed(1)}%, ` +
        `SPRT crossing median ${quantile(detections, 0.5)} (p90 ${quantile(detections, 0.9)}) analysed canary requests`,
    );
    expect(rolledBack / runs).toBeGreaterThanOrEqual(0.95);
  });

  it('is rolled back in ≥ 97% of 1000 default releases, though each step restarts the SPRT after 400-750 requests', { timeout: 15_000 }, () => {
    // Step 1 ends at 400 analysed canary requests, before the SPRT's median detection (373), so a
    // good share escapes step 1 and is caught in step 2 or 3; about 1% escapes all three.
    const runs = 1000;
    const byStep = [0, 0, 0, 0];
    for (let seed = 1; seed <= runs; seed++) {
      const outcome = simulateRelease(seed, { canary: { ...noErrors, errorRate: 0.05 }, baseline: noErrors, rps: 50 }, config);
      if (outcome.action === 'rollback') byStep[outcome.step]!++;
    }
    const total = byStep[1]! + byStep[2]! + byStep[3]!;
    report(`0% → 5% errors, default release: rolled back ${((total / runs) * 100).toFixed(1)}% (step 1/2/3: ${byStep.slice(1).join('/')})`);
    expect(total / runs).toBeGreaterThanOrEqual(0.97);
  });
});

describe('a canary 50% slower (median) than the baseline', () => {
  it('is caught by the latency test at the end of step 1 (400 per arm) in ≥ 99% of 1000 seeds', { timeout: 15_000 }, () => {
    const runs = 1000;
    let caught = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const outcome = simulateRelease(seed, { canary: { ...HEALTHY, medianMs: 75 }, baseline: HEALTHY, rps: 50 }, config);
      if (outcome.action === 'rollback' && outcome.step === 1 && cause(outcome) === 'latency-regression') caught++;
    }
    report(`+50% median latency at 400 per arm: caught at step 1 in ${((caught / runs) * 100).toFixed(1)}% of releases`);
    expect(caught / runs).toBeGreaterThanOrEqual(0.99);
  });

  // 4 000 Mann-Whitney tests on up to 800 samples: 3 s alone, ~5 s on a busy 2-core machine. A ceiling, not a timing assertion.
  it('Mann-Whitney power at α = 0.001 matches canary.md §3.3b (lognormal σ = 0.5)', { timeout: 30_000 }, () => {
    const rng = new XorShift128(31);
    const power = (shift: number, n: number): number => {
      const runs = 1000;
      let hits = 0;
      const x = new Float64Array(n);
      const y = new Float64Array(n);
      for (let run = 0; run < runs; run++) {
        for (let i = 0; i < n; i++) {
          x[i] = rng.lognormal(50 * shift, 0.5);
          y[i] = rng.lognormal(50, 0.5);
        }
        if (mannWhitneyGreater(x, y).p < 0.001) hits++;
      }
      return hits / runs;
    };
    const table = [
      { shift: 1.2, n: 100, design: 0.27 },
      { shift: 1.2, n: 200, design: 0.64 },
      { shift: 1.2, n: 400, design: 0.97 },
      { shift: 1.1, n: 400, design: 0.32 },
    ].map((row) => ({ ...row, measured: power(row.shift, row.n) }));
    report(`MW power: ${table.map((r) => `+${Math.round((r.shift - 1) * 100)}%@${r.n} ${r.measured} (design ${r.design})`).join(', ')}`);
    for (const row of table) expect(Math.abs(row.measured - row.design)).toBeLessThan(0.06);
  });
});

describe('no traffic', () => {
  it('never rolls back: the release ends inconclusive at stepMaxDuration of step 1', () => {
    const outcome = simulateRelease(1, { canary: HEALTHY, baseline: HEALTHY, rps: 0 }, config, true);
    expect(outcome).toMatchObject({ action: 'inconclusive', step: 1, canaryRequests: 0 });
    expect(outcome.reasons[0]).toMatchObject({ code: 'insufficient-data', elapsedMs: 600_000 });
  });

  it('never rolls back a healthy canary on a trickle of traffic either (0.1 request per second per arm)', { timeout: 15_000 }, () => {
    for (let seed = 1; seed <= 50; seed++) {
      const outcome = simulateRelease(seed, { canary: noErrors, baseline: noErrors, rps: 1 }, config, true);
      expect(outcome.action).toBe('inconclusive');
    }
  });
});

describe('SPRT detection table (canary.md §3.3a, π = 0.5, θ = 3)', () => {
  /** Median and p90 of canary requests until L first crosses, over `runs` seeded streams. */
  function detection(baselineRate: number, canaryRate: number, threshold: number, seed: number): { median: number; p90: number } {
    const rng = new XorShift128(seed);
    const step = sprtIncrements(0.5, 3);
    const runs = 4000;
    const found: number[] = [];
    for (let run = 0; run < runs; run++) {
      let logE = 0;
      for (let canary = 1; canary <= 100_000; canary++) {
        if (rng.uniform() < canaryRate) logE += step.canary;
        if (logE >= threshold) {
          found.push(canary);
          break;
        }
        if (rng.uniform() < baselineRate) logE += step.baseline;
      }
    }
    return { median: quantile(found, 0.5), p90: quantile(found, 0.9) };
  }

  const rows = [
    { name: '100% failing', baseline: 0, canary: 1, median: 17, p90: 17 },
    { name: '0% → 5%', baseline: 0, canary: 0.05, median: 329, p90: 443 },
    { name: '1% → 5%', baseline: 0.01, canary: 0.05, median: 478, p90: 744 },
    { name: '1% → 10%', baseline: 0.01, canary: 0.1, median: 195, p90: 280 },
    { name: '0.1% → 2%', baseline: 0.001, canary: 0.02, median: 889, p90: 1245 },
  ];

  it.each(rows.map((row, index) => [row.name, row, index] as const))('%s: within 10% of the design figures at threshold 6.62', { timeout: 15_000 }, (_name, row, index) => {
    const designThreshold = sprtThreshold(0.004, 3);
    const ours = sprtThreshold(alphaBudget(config.alpha, 3).perRelease.bad, 3);
    const measured = detection(row.baseline, row.canary, designThreshold, 100 + index);
    const envctl = detection(row.baseline, row.canary, ours, 200 + index);
    report(
      `SPRT ${row.name}: at 6.62 median ${measured.median} (p90 ${measured.p90}), design ${row.median} (${row.p90}); ` +
        `at envctl's ${ours.toFixed(2)} median ${envctl.median} (p90 ${envctl.p90})`,
    );
    expect(Math.abs(measured.median - row.median)).toBeLessThanOrEqual(0.1 * row.median);
    expect(Math.abs(measured.p90 - row.p90)).toBeLessThanOrEqual(0.1 * row.p90);
  });
});
