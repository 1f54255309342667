/**
 * The conditional-binomial SPRT (src/release/analysis/sprt.ts): increments, thresholds, crossings,
 * and its anytime-valid error bound checked by simulation.
 */
import { describe, expect, it } from 'vitest';
import { sprtIncrements, sprtLogE, sprtThreshold, traceSprt, type AnalysedArm } from '../../../src/release/analysis/sprt.js';
import { XorShift128 } from './judge-support.js';

const events = (pattern: string): { arm: AnalysedArm }[] => [...pattern].map((c) => ({ arm: c === 'c' ? 'canary' : 'baseline' }));

describe('sprtIncrements', () => {
  it.each([
    [0.5, 3, 0.75, Math.log(1.5), Math.log(0.5)],
    [0.5, 2, 2 / 3, Math.log(4 / 3), Math.log(2 / 3)],
    [0.2, 3, 3 / 7, Math.log(15 / 7), Math.log(5 / 7)],
  ])('π %d, θ %d → q %d', (pi, theta, q, canary, baseline) => {
    const step = sprtIncrements(pi, theta);
    expect(step.q).toBeCloseTo(q, 15);
    expect(step.canary).toBeCloseTo(canary, 15);
    expect(step.baseline).toBeCloseTo(baseline, 15);
  });
});

describe('sprtThreshold = ln(K/α_m)', () => {
  it.each([
    [0.004, 3, 6.62],
    [0.002, 3, 7.31],
    [0.003, 3, 6.91],
    [0.004, 1, 5.52],
  ])('α_m %d over %d steps → %d', (alpha, steps, expected) => {
    expect(sprtThreshold(alpha, steps)).toBeCloseTo(expected, 2);
  });
});

describe('sprtLogE', () => {
  it.each([
    ['', 0],
    ['c', Math.log(1.5)],
    ['b', Math.log(0.5)],
    ['cb', Math.log(0.75)],
    ['cccccccccccccccccc', 18 * Math.log(1.5)],
    ['ccbbcc', 4 * Math.log(1.5) + 2 * Math.log(0.5)],
  ])('%j', (pattern, expected) => {
    expect(sprtLogE(events(pattern), 0.5, 3)).toBeCloseTo(expected, 12);
  });

  it('does not floor at zero: baseline events push L below 0', () => {
    expect(sprtLogE(events('bbbbc'), 0.5, 3)).toBeLessThan(0);
  });
});

describe('traceSprt', () => {
  it('reports the first crossing and keeps it after baseline events bring L down', () => {
    const threshold = sprtThreshold(0.004, 3);
    const trace = traceSprt(events('c'.repeat(17) + 'b'.repeat(10)), 0.5, 3, threshold);
    expect(trace.crossing).toEqual({ event: 17, canaryEvents: 17, baselineEvents: 0, logE: 17 * Math.log(1.5) });
    expect(trace.logE).toBeLessThan(threshold);
    expect(trace.maxLogE).toBe(17 * Math.log(1.5));
    expect([trace.canaryEvents, trace.baselineEvents]).toEqual([17, 10]);
  });

  it('needs 17 all-canary events at 6.62 (canary.md) and 19 at 7.31 (bad requests with α_m = 0.002)', () => {
    expect(traceSprt(events('c'.repeat(16)), 0.5, 3, sprtThreshold(0.004, 3)).crossing).toBeNull();
    expect(traceSprt(events('c'.repeat(17)), 0.5, 3, sprtThreshold(0.004, 3)).crossing?.event).toBe(17);
    expect(traceSprt(events('c'.repeat(18)), 0.5, 3, sprtThreshold(0.002, 3)).crossing).toBeNull();
    expect(traceSprt(events('c'.repeat(19)), 0.5, 3, sprtThreshold(0.002, 3)).crossing?.event).toBe(19);
  });

  it('crosses ln(1/a) with probability at most a under H0, however long it runs (Ville)', () => {
    // a = 0.05 so the rate is measurable: 20 000 streams of 2 000 events each with P(canary) = π.
    const a = 0.05;
    const threshold = Math.log(1 / a);
    const step = sprtIncrements(0.5, 3);
    const rng = new XorShift128(2024);
    let crossed = 0;
    const runs = 20_000;
    for (let run = 0; run < runs; run++) {
      let logE = 0;
      for (let i = 0; i < 2000; i++) {
        logE += rng.uniform() < 0.5 ? step.canary : step.baseline;
        if (logE >= threshold) {
          crossed++;
          break;
        }
      }
    }
    expect(crossed / runs).toBeLessThanOrEqual(a);
  });
});
