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
  const { rankSumX, tieTerm } = rankSums(sorted(x), sorted(y));
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
  if (u > total - u) return sumTo(uProbabilities(n1, n2, total - u), total - u);
  return 1 - sumTo(uProbabilities(n1, n2, u - 1), u - 1);
}

function sumTo(pmf: Float64Array, last: number): number {
  let sum = 0;
  for (let k = 0; k <= last; k++) sum += pmf[k]!;
  return sum;
}

/**
 * P(U = k) for k = 0 … maxK. Recurrence on the largest pooled value: it is an x with probability
 * i/(i+j) (and then exceeds all j y's, adding j to U) or a y with probability j/(i+j). Working in
 * probabilities with positive weights only keeps every term accurate to a few ulps, with no
 * overflow (the counts themselves reach C(200,100) ≈ 9e58). Cost O(n1·n2·maxK) at worst, a few
 * tens of ms at the 10 000-pair cut-off.
 */
function uProbabilities(n1: number, n2: number, maxK: number): Float64Array {
  const rows = Math.min(n1, n2);
  const cols = Math.max(n1, n2);
  // column[i] holds f(i, j) for the current j (j values of the larger sample placed so far).
  const column: Float64Array[] = [];
  for (let i = 0; i <= rows; i++) {
    const cells = new Float64Array(Math.min(i * cols, maxK) + 1);
    cells[0] = 1;
    column.push(cells);
  }
  for (let j = 1; j <= cols; j++) {
    for (let i = 1; i <= rows; i++) {
      const own = column[i]!;
      const lower = column[i - 1]!;
      const pLargestIsRow = i / (i + j);
      const pLargestIsCol = j / (i + j);
      const top = Math.min(i * j, maxK);
      for (let k = top; k >= 0; k--) {
        const shifted = k >= j && k - j < lower.length ? lower[k - j]! : 0;
        own[k] = pLargestIsRow * shifted + pLargestIsCol * own[k]!;
      }
    }
  }
  return column[rows]!;
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
   * first reduced to a seeded uniform reservoir of 2 000 values (Algorithm R), then exact on that.
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
  const xs = sorted(reservoir(x, HL_RESERVOIR_SIZE, rng));
  const ys = sorted(reservoir(y, HL_RESERVOIR_SIZE, rng));
  return { shift: medianOfDifferences(xs, ys), method: sampled ? 'reservoir' : 'exact' };
}

/** Algorithm R: the first `size` values, then each later value replaces a uniform slot with probability size/seen. */
function reservoir(values: Samples, size: number, rng: Rng): Samples {
  if (values.length <= size) return values;
  const kept = Float64Array.from({ length: size }, (_, i) => values[i]!);
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
 * Candidates in row i are the columns [lo[i], hi[i]).
 */
function kthSmallestDifference(xs: Float64Array, yDesc: Float64Array, k: number): number {
  const rows = xs.length;
  const cols = yDesc.length;
  const lo = new Int32Array(rows);
  const hi = new Int32Array(rows).fill(cols);
  const countLe = new Int32Array(rows);
  const countLt = new Int32Array(rows);
  const middles = new Float64Array(rows);
  const widths = new Float64Array(rows);
  for (;;) {
    let below = 0;
    let remaining = 0;
    for (let i = 0; i < rows; i++) {
      below += lo[i]!;
      remaining += hi[i]! - lo[i]!;
    }
    if (remaining <= Math.max(64, rows + cols)) {
      const rest = new Float64Array(remaining);
      let n = 0;
      for (let i = 0; i < rows; i++) for (let j = lo[i]!; j < hi[i]!; j++) rest[n++] = xs[i]! - yDesc[j]!;
      rest.sort();
      return rest[k - 1 - below]!;
    }
    // Each non-empty row's middle candidate, weighted by its number of candidates: pivoting on their
    // weighted median removes at least a quarter of the remaining candidates every round.
    let n = 0;
    for (let i = 0; i < rows; i++) {
      const width = hi[i]! - lo[i]!;
      if (width > 0) {
        middles[n] = xs[i]! - yDesc[(lo[i]! + hi[i]!) >>> 1]!;
        widths[n] = width;
        n++;
      }
    }
    const pivot = weightedMedian(middles, widths, n, remaining / 2);
    // Staircase: counts per row of differences ≤ pivot (and < pivot); non-increasing down the rows.
    let totalLe = 0;
    let totalLt = 0;
    let jLe = cols;
    let jLt = cols;
    for (let i = 0; i < rows; i++) {
      while (jLe > 0 && xs[i]! - yDesc[jLe - 1]! > pivot) jLe--;
      while (jLt > 0 && xs[i]! - yDesc[jLt - 1]! >= pivot) jLt--;
      countLe[i] = jLe;
      countLt[i] = jLt;
      totalLe += jLe;
      totalLt += jLt;
    }
    if (k <= totalLt) {
      for (let i = 0; i < rows; i++) hi[i] = Math.min(hi[i]!, countLt[i]!);
    } else if (k > totalLe) {
      for (let i = 0; i < rows; i++) lo[i] = Math.max(lo[i]!, countLe[i]!);
    } else {
      return pivot;
    }
  }
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
 * The smallest value whose cumulative weight (values ascending) reaches `half`, by quickselect with
 * a median-of-three pivot and three-way partitioning: expected O(n), deterministic, reorders
 * `values[0, n)` and `weights[0, n)` together in place.
 */
function weightedMedian(values: Float64Array, weights: Float64Array, n: number, half: number): number {
  let lo = 0;
  let hi = n - 1;
  let need = half;
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
  const s = sorted(values);
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
  return rank === undefined ? undefined : sorted(values)[rank - 1];
}

function sorted(values: Samples): Float64Array {
  return Float64Array.from(values).sort();
}
