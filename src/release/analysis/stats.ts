/**
 * Distribution-free statistics for the release judge (canary.md §3.3): the one-sided Mann-Whitney U
 * test, the Hodges-Lehmann shift, the median and a distribution-free upper bound for the 95th
 * percentile. Pure and deterministic: no clock, no Math.random, ties get average ranks, nothing is
 * jittered. Samples are latencies in ms (any unit works; the functions never mix units).
 *
 * Definitions follow SciPy's `mannwhitneyu(x, y, alternative='greater')` so golden vectors produced
 * with SciPy (test/fixtures/release/golden.json) match to 1e-9.
 */
import { createRng, nextBelow, type Rng } from './rng.js';

/** Numbers in any array form: `number[]` from JSON, `Float64Array` from the aggregator. */
export type Samples = ArrayLike<number>;

export interface MannWhitneyResult {
  /** U of x: the number of pairs (x_i, y_j) with x_i > y_j, ties counting ½ (SciPy's U1). */
  u: number;
  /** One-sided p-value for "x is stochastically greater than y". */
  p: number;
  method: 'exact' | 'asymptotic';
}

/** Largest n1·n2 for which the exact null distribution is used (tie-free samples only). */
export const MW_EXACT_MAX_PAIRS = 10_000;

/**
 * One-sided Mann-Whitney U test, H1: x stochastically greater than y (the canary slower than the
 * baseline when x = canary latencies).
 *
 * - `exact` when the pooled sample has no ties and n1·n2 ≤ 10 000: p = P(U ≥ u) from the exact
 *   permutation distribution, as `method='exact'` in SciPy.
 * - `asymptotic` otherwise: normal approximation with the tie-corrected variance and a continuity
 *   correction of ½, as `method='asymptotic'` (use_continuity=True) in SciPy.
 *
 * @throws RangeError when either sample is empty (there is nothing to test).
 */
export function mannWhitneyGreater(x: Samples, y: Samples): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyGreater needs at least one value in each sample');
  const { rankSumX, tieTerm } = rankSums(sortedSamples(x), sortedSamples(y));
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  if (tieTerm === 0 && n1 * n2 <= MW_EXACT_MAX_PAIRS) {
    return { u, p: Math.min(1, exactUpperTail(u, n1, n2)), method: 'exact' };
  }
  const n = n1 + n2;
  const sd = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const numerator = u - (n1 * n2) / 2 - 0.5;
  // All values tied: no spread, no evidence (SciPy: z = -inf, p = 1).
  const z = sd === 0 ? (numerator < 0 ? -Infinity : Infinity) : numerator / sd;
  return { u, p: Math.min(1, Math.max(0, normalSf(z))), method: 'asymptotic' };
}

/**
 * Rank sum of x in the pooled sample (average ranks for ties) and the tie term Σ(t³ − t) over tie
 * groups, by merging the two sorted samples: O(n log n) for the sorts, O(n) here.
 */
function rankSums(xs: Float64Array, ys: Float64Array): { rankSumX: number; tieTerm: number } {
  let i = 0;
  let j = 0;
  let position = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < xs.length || j < ys.length) {
    const value = j >= ys.length || (i < xs.length && xs[i]! <= ys[j]!) ? xs[i]! : ys[j]!;
    let inX = 0;
    let inY = 0;
    while (i < xs.length && xs[i] === value) {
      i++;
      inX++;
    }
    while (j < ys.length && ys[j] === value) {
      j++;
      inY++;
    }
    const t = inX + inY;
    // Ranks position+1 … position+t share their average.
    rankSumX += inX * (position + (t + 1) / 2);
    if (t > 1) tieTerm += t * t * t - t;
    position += t;
  }
  return { rankSumX, tieTerm };
}

/**
 * P(U ≥ u) under H0 for tie-free samples of sizes n1, n2, summed from the short side of the
 * symmetric distribution so tiny tails keep their relative precision (1/C(200,100) ≈ 1e-59 included).
 */
function exactUpperTail(u: number, n1: number, n2: number): number {
  if (u <= 0) return 1;
  const total = n1 * n2;
  if (u > total) return 0;
  // Symmetry: P(U ≥ u) = P(U ≤ n1·n2 − u).
  if (u > total - u) return lowerTail(n1, n2, total - u);
  return 1 - lowerTail(n1, n2, u - 1);
}

/**
 * P(U ≤ last) for last ≤ n1·n2/2. The number of arrangements with U = k is the coefficient of q^k
 * in the Gaussian binomial [n1+n2 choose m]_q = ∏_{i=1..m} (1 − q^(n+i)) / (1 − q^i), m = min(n1, n2),
 * n = max(n1, n2); multiplying the factors in turn (truncated at `last`) costs O(m·last), a few ms at
 * the 10 000-pair cut-off. After each factor pair the polynomial is again a Gaussian binomial with
 * positive coefficients, and on the lower half they grow with k, so the subtractions never cancel
 * badly; counts stay below C(200,100) ≈ 9e58, well inside double range.
 */
function lowerTail(n1: number, n2: number, last: number): number {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  const counts = new Float64Array(last + 1);
  counts[0] = 1;
  let arrangements = 1;
  for (let i = 1; i <= m; i++) {
    // × (1 − q^(n+i)), from the top so each term reads the previous polynomial.
    for (let k = last; k >= n + i; k--) counts[k] = counts[k]! - counts[k - n - i]!;
    // ÷ (1 − q^i), i.e. × (1 + q^i + q^2i + …): a running sum with stride i.
    for (let k = i; k <= last; k++) counts[k] = counts[k]! + counts[k - i]!;
    arrangements = (arrangements * (n + i)) / i;
  }
  let sum = 0;
  for (let k = 0; k <= last; k++) sum += counts[k]!;
  return sum / arrangements;
}

/**
 * Upper tail of the standard normal, P(Z > z), accurate to about 1e-15 relative over the whole
 * double range (W. J. Cody's rational Chebyshev approximations, ACM TOMS Algorithm 715 "ANORM", the
 * same algorithm R's pnorm uses; x² is split so exp(−x²/2) keeps its precision far in the tail).
 */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return normalCdf(-z);
}

const A = [2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113];
const B = [47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956];
const C = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
  6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8,
];
const D = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091,
  34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
];
const P = [0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303];
const Q = [1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5];
const ONE_OVER_SQRT_2PI = 0.39894228040143267794;

/** P(Z ≤ x). */
function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const y = Math.abs(x);
  if (y <= 0.66291) {
    const xsq = y > 1.1e-16 ? x * x : 0;
    let num = A[4]! * xsq;
    let den = xsq;
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]!) * xsq;
      den = (den + B[i]!) * xsq;
    }
    return 0.5 + (x * (num + A[3]!)) / (den + B[3]!);
  }
  let tail: number;
  if (y <= Math.sqrt(32)) {
    let num = C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    tail = (num + C[7]!) / (den + D[7]!);
  } else {
    const inv = 1 / (x * x);
    let num = P[5]! * inv;
    let den = inv;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]!) * inv;
      den = (den + Q[i]!) * inv;
    }
    tail = (ONE_OVER_SQRT_2PI - (inv * (num + P[4]!)) / (den + Q[4]!)) / y;
  }
  // exp(−y²/2) as exp(−a²/2)·exp(−(y−a)(y+a)/2) with a = y rounded down to 1/16: a² is exact.
  const a = Math.trunc(y * 16) / 16;
  const small = Math.exp(-a * a * 0.5) * Math.exp(-(y - a) * (y + a) * 0.5) * tail;
  return x > 0 ? 1 - small : small;
}

/** Reservoir size per arm for the Hodges-Lehmann shift of large samples (canary.md §3.3f). */
export const HL_RESERVOIR_SIZE = 2_000;

/** Seed used when the caller passes no generator (a replay of the same data then gives the same shift). */
export const HL_DEFAULT_SEED = 0x5eed;

export interface HodgesLehmannResult {
  /** Median of all pairwise differences x_i − y_j (in the samples' unit). */
  shift: number;
  /**
   * `exact`: over all n1·n2 pairs (both samples ≤ 2 000 values). `reservoir`: a larger sample was
   * first reduced to a seeded uniform reservoir of 2 000 values (Algorithm R over the sorted sample),
   * then exact on that.
   */
  method: 'exact' | 'reservoir';
}

/**
 * Hodges-Lehmann estimate of the shift of x over y: the median of the n1·n2 pairwise differences,
 * the average of the two middle ones when n1·n2 is even.
 *
 * The differences are never materialised: the k-th smallest is selected in the implicit sorted
 * matrix x_i − y_j by pivoting on the weighted median of row medians and counting with a staircase
 * walk (O((n1 + n2)·log(n1·n2)) per selection). So the exact path is cheap up to the reservoir size,
 * and beyond it the reservoirs keep the cost fixed; both are deterministic functions of the data and
 * `rng`'s seed, whatever the config.
 *
 * @param rng draws the reservoirs; the judge seeds it from the snapshot (release id) so replays match.
 * @throws RangeError when either sample is empty.
 */
export function hodgesLehmann(x: Samples, y: Samples, rng: Rng = createRng(HL_DEFAULT_SEED)): HodgesLehmannResult {
  if (x.length === 0 || y.length === 0) throw new RangeError('hodgesLehmann needs at least one value in each sample');
  const sampled = x.length > HL_RESERVOIR_SIZE || y.length > HL_RESERVOIR_SIZE;
  // Reservoirs are drawn from the sorted samples, so the estimate depends on the values and the seed
  // only, not on the order the responses arrived in.
  const xs = sortedSamples(reservoir(sortedSamples(x), HL_RESERVOIR_SIZE, rng));
  const ys = sortedSamples(reservoir(sortedSamples(y), HL_RESERVOIR_SIZE, rng));
  return { shift: medianOfDifferences(xs, ys), method: sampled ? 'reservoir' : 'exact' };
}

/** Algorithm R: the first `size` values, then each later value replaces a uniform slot with probability size/seen. */
function reservoir(values: Samples, size: number, rng: Rng): Samples {
  if (values.length <= size) return values;
  const kept = new Float64Array(size);
  for (let i = 0; i < size; i++) kept[i] = values[i]!;
  for (let seen = size; seen < values.length; seen++) {
    const slot = nextBelow(rng, seen + 1);
    if (slot < size) kept[slot] = values[seen]!;
  }
  return kept;
}

function medianOfDifferences(xs: Float64Array, ys: Float64Array): number {
  const total = xs.length * ys.length;
  // Columns run over y descending, so x_i − y_j ascends along rows and columns.
  const yDesc = ys.slice().reverse();
  const half = Math.floor(total / 2);
  if (total % 2 === 1) return kthSmallestDifference(xs, yDesc, half + 1);
  const lower = kthSmallestDifference(xs, yDesc, half);
  return (lower + smallestDifferenceAbove(xs, yDesc, lower, half)) / 2;
}

/**
 * The k-th smallest (1-based) of xs[i] − yDesc[j]. Floating-point subtraction is monotone in each
 * argument, so the computed matrix is sorted along rows and columns and the result is exactly the
 * k-th element of the sorted list of computed differences (what a brute-force sort would give).
 *
 * Candidates in row i are the columns [lo[i], hi[i]). Each round counts the differences below a
 * pivot with a staircase walk (O(n1 + n2)) and drops the candidates on the wrong side:
 * - once the k-th is bracketed by two earlier pivots, two new pivots are interpolated just below and
 *   just above rank k (the differences' distribution is smooth, so one or two such rounds usually
 *   leave a few hundred candidates);
 * - otherwise, or when a round failed to halve the candidates, the pivot is the weighted median of
 *   the rows' middle candidates, which removes at least a quarter of them (Johnson & Mizoguchi), so
 *   the worst case stays O((n1 + n2)·log(n1·n2)).
 * The last few thousand candidates are selected directly.
 */
function kthSmallestDifference(xs: Float64Array, yDesc: Float64Array, k: number): number {
  const rows = xs.length;
  const cols = yDesc.length;
  const small = Math.max(256, 2 * (rows + cols));
  const state: Narrowing = {
    lo: new Int32Array(rows),
    hi: new Int32Array(rows).fill(cols),
    counts: new Int32Array(rows),
    below: 0,
    remaining: rows * cols,
    rank: 0,
  };
  const values = new Float64Array(Math.max(small, rows));
  const weights = new Float64Array(rows);
  // Bracket: rank(≤ low) = lowRank < k ≤ highRank = rank(< high).
  let low = -Infinity;
  let lowRank = 0;
  let high = Infinity;
  let highRank = rows * cols;
  let interpolationFailed = false;
  for (;;) {
    const { lo, hi } = state;
    if (state.remaining <= small) {
      let n = 0;
      for (let i = 0; i < rows; i++) for (let j = lo[i]!; j < hi[i]!; j++) values[n++] = xs[i]! - yDesc[j]!;
      return selectKth(values, n, k - state.below);
    }
    const before = state.remaining;
    const interpolating: boolean = !interpolationFailed && Number.isFinite(low) && Number.isFinite(high);
    let pivots: number[];
    if (interpolating) {
      const at = (rank: number) => low + ((rank - lowRank) / (highRank - lowRank)) * (high - low);
      const margin = small / 4;
      pivots = [at(Math.max(lowRank, k - margin)), at(Math.min(highRank, k + margin))];
    } else {
      let n = 0;
      for (let i = 0; i < rows; i++) {
        const width = hi[i]! - lo[i]!;
        if (width > 0) {
          values[n] = xs[i]! - yDesc[(lo[i]! + hi[i]!) >>> 1]!;
          weights[n++] = width;
        }
      }
      pivots = [weightedSelect(values, weights, n, state.remaining / 2)];
    }
    for (const pivot of pivots) {
      const side = narrowAround(xs, yDesc, state, pivot, k);
      if (side === 'at') return pivot;
      if (side === 'above') {
        low = pivot;
        lowRank = state.rank;
      } else {
        high = pivot;
        highRank = state.rank;
      }
    }
    interpolationFailed = interpolating && state.remaining > before / 2;
  }
}

interface Narrowing {
  /** Candidate columns of row i: [lo[i], hi[i]). */
  lo: Int32Array;
  hi: Int32Array;
  /** Scratch: per-row counts of the last staircase walk. */
  counts: Int32Array;
  /** Differences known to be below the k-th (left of lo). */
  below: number;
  remaining: number;
  /** After narrowAround: rank(≤ pivot) if the k-th is above it, rank(< pivot) if below. */
  rank: number;
}

/**
 * Where the k-th difference lies relative to `pivot` ('above', 'below', or 'at': it equals the
 * pivot), dropping the candidates on the other side. The per-row count of differences ≤ pivot only
 * falls down the rows, so the staircase walks each column once.
 */
function narrowAround(xs: Float64Array, yDesc: Float64Array, state: Narrowing, pivot: number, k: number): 'above' | 'below' | 'at' {
  const { lo, hi, counts } = state;
  const rows = xs.length;
  let totalLe = 0;
  let j = yDesc.length;
  for (let i = 0; i < rows; i++) {
    while (j > 0 && xs[i]! - yDesc[j - 1]! > pivot) j--;
    counts[i] = j;
    totalLe += j;
  }
  if (k > totalLe) {
    let below = 0;
    let remaining = 0;
    for (let i = 0; i < rows; i++) {
      if (lo[i]! < counts[i]!) lo[i] = counts[i]!;
      below += lo[i]!;
      remaining += hi[i]! - lo[i]!;
    }
    state.below = below;
    state.remaining = remaining;
    state.rank = totalLe;
    return 'above';
  }
  let totalLt = 0;
  j = yDesc.length;
  for (let i = 0; i < rows; i++) {
    while (j > 0 && xs[i]! - yDesc[j - 1]! >= pivot) j--;
    counts[i] = j;
    totalLt += j;
  }
  if (k > totalLt) return 'at';
  let remaining = 0;
  for (let i = 0; i < rows; i++) {
    if (hi[i]! > counts[i]!) hi[i] = counts[i]!;
    remaining += hi[i]! - lo[i]!;
  }
  state.remaining = remaining;
  state.rank = totalLt;
  return 'below';
}

/** The (k+1)-th smallest difference given that `value` is the k-th: `value` again if it repeats, else the next larger one. */
function smallestDifferenceAbove(xs: Float64Array, yDesc: Float64Array, value: number, k: number): number {
  let countLe = 0;
  let next = Infinity;
  let j = yDesc.length;
  for (let i = 0; i < xs.length; i++) {
    while (j > 0 && xs[i]! - yDesc[j - 1]! > value) j--;
    countLe += j;
    // Row i's first difference above `value` sits at column j.
    if (j < yDesc.length) next = Math.min(next, xs[i]! - yDesc[j]!);
  }
  return countLe > k ? value : next;
}

/**
 * The smallest value whose cumulative weight (values ascending) reaches `rank`, by quickselect with
 * a median-of-three pivot and three-way partitioning: expected O(n), deterministic, reorders
 * `values[0, n)` and `weights[0, n)` together in place.
 */
function weightedSelect(values: Float64Array, weights: Float64Array, n: number, rank: number): number {
  let lo = 0;
  let hi = n - 1;
  let need = rank;
  for (;;) {
    if (lo >= hi) return values[lo]!;
    const a = values[lo]!;
    const b = values[(lo + hi) >>> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Dutch national flag: [lo, lt) < pivot, [lt, i) = pivot, (gt, hi] > pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    let weightLess = 0;
    let weightEqual = 0;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) {
        weightLess += weights[i]!;
        swap(values, weights, lt++, i++);
      } else if (v > pivot) {
        swap(values, weights, i, gt--);
      } else {
        weightEqual += weights[i]!;
        i++;
      }
    }
    if (need <= weightLess) {
      hi = lt - 1;
    } else if (need <= weightLess + weightEqual) {
      return pivot;
    } else {
      need -= weightLess + weightEqual;
      lo = gt + 1;
    }
  }
}

/** The k-th smallest (1-based) of values[0, n): Hoare-partition quickselect, median-of-three pivot; reorders in place. */
function selectKth(values: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const a = values[lo]!;
    const b = values[(lo + hi) >>> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    // Now [lo, j] ≤ pivot ≤ [i, hi], and anything strictly between j and i equals the pivot.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[lo]!;
}

function swap(values: Float64Array, weights: Float64Array, i: number, j: number): void {
  const v = values[i]!;
  values[i] = values[j]!;
  values[j] = v;
  const w = weights[i]!;
  weights[i] = weights[j]!;
  weights[j] = w;
}

/** Median (average of the two middle values for an even count). @throws RangeError when empty. */
export function median(values: Samples): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = sortedSamples(values);
  const mid = s.length >>> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Fewest samples for which a distribution-free upper bound of the 95th percentile exists (1 − 0.95⁵⁹ ≥ 0.95). */
export const P95_MIN_SAMPLES = 59;

/**
 * The 1-based rank r of the order statistic X₍ᵣ₎ that is a distribution-free upper 95 % confidence
 * bound for the 95th percentile: the smallest r with P(Binomial(n, 0.95) ≤ r − 1) ≥ 0.95. Undefined
 * when n < 59, where even the maximum is not such a bound (canary.md §3.3a).
 */
export function p95UpperBoundRank(n: number): number | undefined {
  // Count the samples at or above the 95th percentile instead: A ~ Binomial(n, 0.05). X₍ᵣ₎ bounds it
  // when A ≥ n − r + 1; the largest admissible m = n − r + 1 is the first m with P(A ≤ m) > 0.05.
  const pAbove = 0.05;
  const logRatio = Math.log(pAbove / (1 - pAbove));
  let logPmf = n * Math.log1p(-pAbove);
  let cdf = 0;
  for (let m = 0; m <= n; m++) {
    cdf += Math.exp(logPmf);
    if (cdf > 0.05) return m === 0 ? undefined : n - m + 1;
    logPmf += Math.log((n - m) / (m + 1)) + logRatio;
  }
  return undefined;
}

/**
 * Distribution-free upper 95 % confidence bound for the 95th percentile of `values` (an order
 * statistic, no interpolation), or undefined with fewer than 59 values. The slow-request threshold
 * uses it, so a small baseline sample errs towards fewer, not more, slow events.
 */
export function p95UpperBound(values: Samples): number | undefined {
  const rank = p95UpperBoundRank(values.length);
  return rank === undefined ? undefined : sortedSamples(values)[rank - 1];
}

/**
 * The values ascending as a Float64Array. A Float64Array that is already ascending is returned as
 * is (nothing here writes to it), so a caller that sorts once can hand the same array to every test.
 */
export function sortedSamples(values: Samples): Float64Array {
  if (values instanceof Float64Array && isAscending(values)) return values;
  // The constructor copies arrays and typed arrays on a fast path (Float64Array.from iterates).
  return new Float64Array(values).sort();
}


function isAscending(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i - 1]! <= values[i]!)) return false;
  return true;
}
