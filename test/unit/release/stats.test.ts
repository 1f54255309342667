/**
 * The judge's statistics (src/release/analysis/stats.ts) against SciPy golden vectors
 * (test/fixtures/release/golden.json, written by generate_golden.py next to it) and brute force.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng, nextBelow, seedFromString } from '../../../src/release/analysis/rng.js';
import {
  hodgesLehmann,
  HL_RESERVOIR_SIZE,
  mannWhitneyGreater,
  median,
  normalSf,
  p95UpperBound,
  p95UpperBoundRank,
  P95_MIN_SAMPLES,
} from '../../../src/release/analysis/stats.js';

interface Golden {
  mannWhitney: { name: string; x: number[]; y: number[]; method: 'exact' | 'asymptotic'; u: number; p: number }[];
  normalSf: { z: number; sf: number }[];
  hodgesLehmann: { name: string; x: number[]; y: number[]; shift: number }[];
  p95Rank: { n: number; rank: number | null }[];
}

const golden = JSON.parse(readFileSync(new URL('../../fixtures/release/golden.json', import.meta.url), 'utf8')) as Golden;

/** |actual − expected| ≤ 1e-9 relative to |expected|, or 1e-300 absolute where SciPy itself underflows. */
function expectClose(actual: number, expected: number, tolerance = 1e-9): void {
  if (expected === actual) return;
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(tolerance * Math.abs(expected), 1e-300));
}

describe('mannWhitneyGreater matches scipy.stats.mannwhitneyu(alternative="greater")', () => {
  it.each(golden.mannWhitney.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = mannWhitneyGreater(c.x, c.y);
    expect(result.method).toBe(c.method);
    expect(result.u).toBe(c.u);
    expectClose(result.p, c.p);
  });

  it('covers both sides of the n1·n2 ≤ 10 000 boundary, with and without ties', () => {
    const sizes = golden.mannWhitney.map((c) => ({ pairs: c.x.length * c.y.length, method: c.method }));
    expect(sizes).toContainEqual({ pairs: 10_000, method: 'exact' });
    expect(sizes).toContainEqual({ pairs: 10_001, method: 'asymptotic' });
    expect(sizes).toContainEqual({ pairs: 10_100, method: 'asymptotic' });
    expect(golden.mannWhitney.filter((c) => c.name.startsWith('ties')).length).toBeGreaterThanOrEqual(4);
  });

  it('uses the asymptotic test for tied samples even when they are small', () => {
    expect(mannWhitneyGreater([1, 2, 2], [3, 4]).method).toBe('asymptotic');
    expect(mannWhitneyGreater([1, 2, 5], [3, 4]).method).toBe('exact');
  });

  it('does not depend on the order of the samples, and accepts typed arrays', () => {
    const x = [5.5, 1.25, 9, 3, 7];
    const y = [2, 8.5, 4, 6, 0.5, 10];
    const forward = mannWhitneyGreater(x, y);
    expect(mannWhitneyGreater([...x].reverse(), Float64Array.from([...y].reverse()))).toEqual(forward);
  });

  it('refuses an empty sample', () => {
    expect(() => mannWhitneyGreater([], [1])).toThrow(RangeError);
    expect(() => mannWhitneyGreater([1], [])).toThrow(RangeError);
  });

  it('gives the exact permutation p-value for every U (all splits of up to 13 values enumerated)', () => {
    for (const [n1, n2] of [[1, 1], [1, 5], [2, 3], [3, 3], [4, 6], [6, 7], [5, 8]] as const) {
      // Count, over all ways to choose which of the ranks 1..n belong to x, how often U ≥ u.
      const n = n1 + n2;
      const counts = new Map<number, number>();
      let total = 0;
      for (let mask = 0; mask < 1 << n; mask++) {
        let bits = 0;
        let u = 0;
        for (let r = 0; r < n; r++) if (mask & (1 << r)) { bits++; u += r - (bits - 1); }
        if (bits !== n1) continue;
        total++;
        counts.set(u, (counts.get(u) ?? 0) + 1);
      }
      for (let u = 0; u <= n1 * n2; u++) {
        let atLeast = 0;
        for (const [value, count] of counts) if (value >= u) atLeast += count;
        // x takes ranks so that exactly u pairs have x above y: x = the u-th arrangement's ranks.
        const x = ranksWithU(n1, n2, u);
        const y = Array.from({ length: n }, (_, r) => r + 1).filter((r) => !x.includes(r));
        const result = mannWhitneyGreater(x, y);
        expect(result).toMatchObject({ u, method: 'exact' });
        expectClose(result.p, atLeast / total, 1e-12);
      }
    }
  });

  // Its speed at the cut-off is a bench figure (release-judge: "Mann-Whitney exact 100 × 100"), not a test.
  it('uses the exact method at the cut-off (100 × 100, U near the middle)', () => {
    const x = Array.from({ length: 100 }, (_, i) => 2 * i + 1);
    const y = Array.from({ length: 100 }, (_, i) => 2 * i + 0.5);
    const result = mannWhitneyGreater(x, y);
    expect(result).toMatchObject({ method: 'exact', u: 5050 });
    expect(result.p).toBeGreaterThan(0.3);
    expect(result.p).toBeLessThan(0.7);
  });
});

describe('normalSf matches scipy.special.ndtr(-z)', () => {
  // 1e-12, not tighter: SciPy's ndtr itself is 1e-13 off the true value at z = 26 (checked with mpmath).
  it.each(golden.normalSf.map((c) => [c.z, c.sf] as const))('z = %d', (z, sf) => {
    expectClose(normalSf(z), sf, 1e-12);
  });

  it('handles the infinities', () => {
    expect(normalSf(Infinity)).toBe(0);
    expect(normalSf(-Infinity)).toBe(1);
  });
});

describe('hodgesLehmann', () => {
  it.each(golden.hodgesLehmann.map((c) => [c.name, c] as const))('%s: numpy median of pairwise differences', (_name, c) => {
    const result = hodgesLehmann(c.x, c.y);
    expect(result.method).toBe('exact');
    expect(result.shift).toBe(c.shift);
  });

  it('equals brute force on random tied and untied samples', () => {
    const rng = createRng(7);
    for (let round = 0; round < 200; round++) {
      const n1 = 1 + nextBelow(rng, 40);
      const n2 = 1 + nextBelow(rng, 40);
      const spread = round % 2 === 0 ? 5 : 1000;
      const x = Array.from({ length: n1 }, () => nextBelow(rng, spread) / 4);
      const y = Array.from({ length: n2 }, () => nextBelow(rng, spread) / 4);
      const differences = x.flatMap((a) => y.map((b) => a - b));
      expect(hodgesLehmann(x, y).shift).toBe(median(differences));
    }
  });

  it('equals brute force on larger samples with heavy ties, outliers and constant arms', () => {
    const rng = createRng(19);
    const shapes: ((i: number) => number)[] = [
      () => nextBelow(rng, 3),
      () => 50 * Math.exp((nextBelow(rng, 1_000_000) / 1_000_000 - 0.5) * 2),
      (i) => (i % 17 === 0 ? 10_000 + nextBelow(rng, 100) : 40 + nextBelow(rng, 200) / 10),
      () => 7,
      () => -nextBelow(rng, 1000) / 8,
    ];
    for (let round = 0; round < 30; round++) {
      const n1 = 50 + nextBelow(rng, 250);
      const n2 = 50 + nextBelow(rng, 250);
      const x = Array.from({ length: n1 }, (_, i) => shapes[round % shapes.length]!(i));
      const y = Array.from({ length: n2 }, (_, i) => shapes[(round + (round >> 2)) % shapes.length]!(i) + (round % 3));
      const differences = Float64Array.from(x.flatMap((a) => y.map((b) => a - b))).sort();
      const mid = differences.length >>> 1;
      const expected = differences.length % 2 ? differences[mid]! : (differences[mid - 1]! + differences[mid]!) / 2;
      expect(hodgesLehmann(x, y).shift).toBe(expected);
    }
  });

  it('is exact at the reservoir size and switches to seeded reservoirs above it', () => {
    const rng = createRng(11);
    const big = Array.from({ length: HL_RESERVOIR_SIZE + 1 }, () => 50 + nextBelow(rng, 100_000) / 1000);
    const small = big.slice(0, HL_RESERVOIR_SIZE).map((v) => v - 3);
    expect(hodgesLehmann(small, small.slice(0, 10)).method).toBe('exact');
    const first = hodgesLehmann(big, small, createRng(42));
    expect(first.method).toBe('reservoir');
    expect(hodgesLehmann(big, small, createRng(42))).toEqual(first);
    expect(Math.abs(first.shift - 3)).toBeLessThan(1.5);
  });

  it('draws its reservoirs from the sorted samples: arrival order does not matter', () => {
    const rng = createRng(5);
    const x = Array.from({ length: 3000 }, () => nextBelow(rng, 1_000_000) / 1000);
    const y = Array.from({ length: 2500 }, () => nextBelow(rng, 1_000_000) / 1000);
    expect(hodgesLehmann([...x].reverse(), [...y].reverse(), createRng(9))).toEqual(hodgesLehmann(x, y, createRng(9)));
  });

  // Its speed is a bench figure (release-judge: "Hodges-Lehmann 50 000 per arm"), not a test.
  it('handles 50 000 per arm (the proxy cap) with the reservoir', () => {
    const rng = createRng(3);
    const x = Float64Array.from({ length: 50_000 }, () => 60 * Math.exp(0.5 * gaussian(rng)));
    const y = Float64Array.from({ length: 50_000 }, () => 50 * Math.exp(0.5 * gaussian(rng)));
    const { shift, method } = hodgesLehmann(x, y, createRng(seedFromString('r-7f3a')));
    expect(method).toBe('reservoir');
    expect(shift).toBeGreaterThan(7);
    expect(shift).toBeLessThan(13);
  });

  it('refuses an empty sample', () => {
    expect(() => hodgesLehmann([], [1])).toThrow(RangeError);
  });
});

describe('median', () => {
  it.each([
    [[3], 3],
    [[3, 1], 2],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[-1, -1, 7], -1],
  ])('%j → %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('refuses no values', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('p95UpperBound (distribution-free upper confidence bound of the 95th percentile)', () => {
  it.each(golden.p95Rank.map((c) => [c.n, c.rank] as const))('n = %d → rank %s (scipy.stats.binom)', (n, rank) => {
    expect(p95UpperBoundRank(n) ?? null).toBe(rank);
  });

  it('has no bound below 59 samples and takes the maximum at exactly 59', () => {
    expect(P95_MIN_SAMPLES).toBe(59);
    const values = Array.from({ length: 58 }, (_, i) => 58 - i);
    expect(p95UpperBound(values)).toBeUndefined();
    expect(p95UpperBound([...values, 100])).toBe(100);
  });

  it('returns an order statistic at or above the sample 95th percentile', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const bound = p95UpperBound(values)!;
    expect(bound).toBeGreaterThanOrEqual(950);
    expect(bound).toBeLessThanOrEqual(970);
  });
});

describe('rng', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = createRng(1);
    const b = createRng(1);
    const c = createRng(2);
    const streamA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(streamA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(streamA);
    expect(streamA.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)).toBe(true);
  });

  it('seeds from a release id', () => {
    expect(seedFromString('r-7f3a')).toBe(seedFromString('r-7f3a'));
    expect(seedFromString('r-7f3a')).not.toBe(seedFromString('r-7f3b'));
  });
});

/** Ranks (1-based, out of n1 + n2) for an x sample whose U against the other ranks is u. */
function ranksWithU(n1: number, n2: number, u: number): number[] {
  // Start with x on the lowest ranks (U = 0) and move x's values up one step at a time, top first.
  const x = Array.from({ length: n1 }, (_, i) => i + 1);
  let left = u;
  for (let i = n1 - 1; i >= 0 && left > 0; i--) {
    const room = n2 + i + 1 - x[i]!;
    const move = Math.min(room, left);
    x[i]! += move;
    left -= move;
  }
  return x;
}

function gaussian(rng: ReturnType<typeof createRng>): number {
  const u = (rng.nextUint32() + 1) / 4_294_967_297;
  const v = rng.nextUint32() / 4_294_967_296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
