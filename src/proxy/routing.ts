/**
 * Which arm serves a request (canary.md §3.1). Pure and deterministic: no clock, no randomness, so the
 * same request sequence always gets the same arms and a test can assert exact shares.
 *
 * - Overrides (`X-Envctl-Target`, `envctl_target`) win and are marked, so the statistics can drop them.
 * - Otherwise, stratified smooth weighted round-robin: one scheduler per route key, so a periodic load
 *   generator cannot alias with a single global rotation and send all of one endpoint to one arm.
 *   Over every prefix of a stratum's requests each arm has served ⌊N·w/100⌋ or ⌈N·w/100⌉.
 * - With `sticky: 'cookie'`, a client key is hashed onto [0, 2³²) and the buckets are laid out canary
 *   first (like nginx `split_clients`), so raising the canary weight only ever moves clients *to* the
 *   canary. Requests without a key fall back to the scheduler.
 */
import { ARMS, type Arm, type ArmEjection, type RequestRecord, type RouteDecision, type RouteRequest, type Router, type RouteSplit, type RouteSplitPage, type Weights } from './types.js';

/** Weights are integer percentages. */
const TOTAL_WEIGHT = 100;

/**
 * Route keys that get a scheduler of their own between two weight changes; later keys share one
 * overflow scheduler. Templated routes of a real service number in the tens, so this only bites a
 * client requesting random paths, whose memory it bounds.
 */
export const DEFAULT_MAX_STRATA = 1024;

export interface RouterOptions {
  /** `cookie`: requests carrying a client key go to that key's hash bucket; `none`: always the scheduler. */
  sticky: 'none' | 'cookie';
  /** Route keys with their own scheduler (default {@link DEFAULT_MAX_STRATA}); further keys share one. */
  maxStrata?: number;
}

/**
 * The weights as a fresh frozen object, or a RangeError naming what is wrong: each arm an integer
 * ≥ 0, no other keys, sum exactly 100.
 */
export function validateWeights(weights: Weights): Weights {
  const unknown = Object.keys(weights).filter((key) => !(ARMS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new RangeError(`invalid weights: unknown arm ${unknown.map((key) => JSON.stringify(key)).join(', ')} (arms are ${ARMS.join(', ')})`);
  }
  for (const arm of ARMS) {
    const value: unknown = weights[arm];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`invalid weights: ${arm} must be an integer percentage ≥ 0, got ${String(value)}`);
    }
  }
  const sum = ARMS.reduce((total, arm) => total + weights[arm], 0);
  if (sum !== TOTAL_WEIGHT) {
    throw new RangeError(`invalid weights ${formatWeights(weights)}: must sum to ${TOTAL_WEIGHT}, got ${sum}`);
  }
  return Object.freeze({ canary: weights.canary, baseline: weights.baseline, prod: weights.prod });
}

/** `canary=10 baseline=10 prod=80`, for messages. */
export function formatWeights(weights: Weights): string {
  return ARMS.map((arm) => `${arm}=${weights[arm]}`).join(' ');
}

/**
 * `canary=10,baseline=10,prod=80` (the form {@link formatWeights} prints, with commas) → weights, or
 * a RangeError naming the problem: each of the three arms exactly once, integer percentages, sum 100.
 * Spaces around the parts are allowed.
 */
export function parseWeights(text: string): Weights {
  const example = 'canary=10,baseline=10,prod=80';
  const parts = text.split(',').map((part) => part.trim());
  if (text.trim() === '') throw new RangeError(`invalid weights: empty (give all three arms, like ${example})`);
  const given: Partial<Record<Arm, number>> = {};
  for (const part of parts) {
    const match = /^([A-Za-z]+)\s*=\s*(\S*)$/.exec(part);
    if (!match) throw new RangeError(`invalid weights: "${part}" is not arm=percent (like ${example})`);
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    const arm = ARMS.find((candidate) => candidate === name);
    if (arm === undefined) throw new RangeError(`invalid weights: unknown arm "${match[1]}" (arms are ${ARMS.join(', ')})`);
    if (given[arm] !== undefined) throw new RangeError(`invalid weights: ${arm} given twice`);
    if (!/^\d{1,3}$/.test(value) || Number(value) > TOTAL_WEIGHT) {
      throw new RangeError(`invalid weights: ${arm} must be an integer percentage from 0 to ${TOTAL_WEIGHT}, got "${value}"`);
    }
    given[arm] = Number(value);
  }
  const missing = ARMS.filter((arm) => given[arm] === undefined);
  if (missing.length > 0) throw new RangeError(`invalid weights: ${missing.join(' and ')} missing (give all three arms, like ${example})`);
  return validateWeights(given as Weights);
}

export function createRouter(initial: Weights, options: RouterOptions): Router {
  const maxStrata = options.maxStrata ?? DEFAULT_MAX_STRATA;
  if (!Number.isSafeInteger(maxStrata) || maxStrata < 0) {
    throw new RangeError(`maxStrata must be an integer ≥ 0, got ${maxStrata}`);
  }
  let weights = validateWeights(initial);
  let strata = new Map<string, SmoothScheduler>();
  let overflow = new SmoothScheduler();

  const schedulerFor = (routeKey: string): SmoothScheduler => {
    const known = strata.get(routeKey);
    if (known) return known;
    if (strata.size >= maxStrata) return overflow;
    const created = new SmoothScheduler();
    strata.set(routeKey, created);
    return created;
  };

  return {
    route(request: RouteRequest): RouteDecision {
      if (request.override !== undefined) return { arm: request.override, override: true };
      // An empty cookie value is no identity: hashing it would pin every such client to one bucket.
      if (options.sticky === 'cookie' && request.stickyKey) return { arm: stickyArm(request.stickyKey, weights), override: false };
      return { arm: schedulerFor(request.routeKey).next(weights), override: false };
    },
    setWeights(next: Weights): void {
      weights = validateWeights(next);
      // Reset at the step boundary (canary.md §3.1): fresh counters, and the strata cap starts over.
      strata = new Map();
      overflow = new SmoothScheduler();
    },
    weights: () => weights,
  };
}

/**
 * One stratum's smooth weighted round-robin (nginx's algorithm, as in canary.md §3.1): per request add
 * each arm's weight to its counter, pick the largest counter (ties in ARMS order: canary, baseline,
 * prod), subtract 100 from it. A counter is N·w − 100·served, so |counter| < 100 is exactly the
 * ⌊N·w/100⌋ / ⌈N·w/100⌉ guarantee. The unit tests check it for all 5 151 splits over the first 2 000
 * requests (max |counter| 82); that covers every N, because once it holds up to N = 100 all counters
 * are multiples of 100 inside (−100, 100), i.e. 0, and the sequence repeats with period 100.
 */
class SmoothScheduler {
  /** In ARMS order. */
  private readonly counters = ARMS.map(() => 0);

  next(weights: Weights): Arm {
    let best = -1;
    for (let index = 0; index < ARMS.length; index += 1) {
      const weight = weights[ARMS[index]!];
      const counter = this.counters[index]! + weight;
      this.counters[index] = counter;
      // A weight-0 arm's counter stays 0 and the largest is > 0, so skipping it changes nothing; it
      // makes "weight 0 is never chosen" hold by construction rather than by arithmetic.
      if (weight > 0 && (best === -1 || counter > this.counters[best]!)) best = index;
    }
    this.counters[best]! -= TOTAL_WEIGHT;
    return ARMS[best]!;
  }
}

/** What {@link RouteSplitCounter} reads from a record. */
type SplitRecord = Pick<RequestRecord, 'step' | 'routeKey' | 'arm' | 'override'>;

/**
 * The split the router produced, per step and route key: counters updated once per record (no
 * scan), so `GET /routes` can show that every stratum gets the weights' shares.
 */
export interface RouteSplitCounter {
  observe(record: SplitRecord): void;
  /** The split of one step (empty when it saw no records). */
  page(step: number): RouteSplitPage;
}

/**
 * Memory is bounded per step like the router's strata: at most `maxRoutes` route keys (default
 * {@link DEFAULT_MAX_STRATA}) get counters of their own, later keys are counted together as
 * `otherRoutes`. Steps are few (the release's steps, plus 0 and the end).
 */
export function createRouteSplitCounter(options: { maxRoutes?: number } = {}): RouteSplitCounter {
  const maxRoutes = options.maxRoutes ?? DEFAULT_MAX_STRATA;
  if (!Number.isSafeInteger(maxRoutes) || maxRoutes < 0) throw new RangeError(`maxRoutes must be an integer ≥ 0, got ${maxRoutes}`);
  const steps = new Map<number, { routes: Map<string, SplitCounts>; other: SplitCounts | undefined }>();
  return {
    observe(record) {
      let step = steps.get(record.step);
      if (!step) {
        step = { routes: new Map(), other: undefined };
        steps.set(record.step, step);
      }
      let counts = step.routes.get(record.routeKey);
      if (!counts) {
        if (step.routes.size < maxRoutes) {
          counts = emptySplitCounts();
          step.routes.set(record.routeKey, counts);
        } else {
          step.other ??= emptySplitCounts();
          counts = step.other;
        }
      }
      if (record.override) counts.override += 1;
      else counts.arms[record.arm] += 1;
    },
    page(stepNumber) {
      const step = steps.get(stepNumber);
      const routes: RouteSplit[] = [...(step?.routes ?? new Map<string, SplitCounts>())].map(([routeKey, counts]) => ({ routeKey, ...copySplitCounts(counts) }));
      routes.sort((a, b) => splitTotal(b) - splitTotal(a) || (a.routeKey < b.routeKey ? -1 : a.routeKey > b.routeKey ? 1 : 0));
      return { step: stepNumber, routes, otherRoutes: step?.other ? copySplitCounts(step.other) : null };
    },
  };
}

type SplitCounts = Omit<RouteSplit, 'routeKey'>;

function emptySplitCounts(): SplitCounts {
  return { arms: { canary: 0, baseline: 0, prod: 0 }, override: 0 };
}

function copySplitCounts(counts: SplitCounts): SplitCounts {
  return { arms: { ...counts.arms }, override: counts.override };
}

/** Every record of a route: weighted and override. */
export function splitTotal(counts: SplitCounts): number {
  return counts.arms.canary + counts.arms.baseline + counts.arms.prod + counts.override;
}

/** 2³², the size of the hash space that sticky buckets split. */
const HASH_SPACE = 2 ** 32;

/**
 * The arm a sticky client key maps to. The key's hash h ∈ [0, 2³²) falls into buckets laid out in
 * ARMS order, canary first: canary [0, c), baseline [c, c + b), prod the rest, in units of 2³²/100.
 * Raising the canary weight only grows its bucket from the top, so a client on the canary at w stays
 * there at every w' > w. (Baseline clients can move when w changes; that only moves analysed traffic
 * between the two arms whose comparison is per-session anyway, canary.md §3.1.)
 */
export function stickyArm(clientKey: string, weights: Weights): Arm {
  // h·100 < 2³⁹ and cumulative·2³² ≤ 100·2³², so both sides are exact doubles.
  const scaled = hashClientKey(clientKey) * TOTAL_WEIGHT;
  let cumulative = 0;
  for (const arm of ARMS) {
    cumulative += weights[arm];
    if (scaled < cumulative * HASH_SPACE) return arm;
  }
  return ARMS[ARMS.length - 1]!;
}

const utf8 = new TextEncoder();

/** The sticky hash of a client key: MurmurHash3 (x86, 32-bit, seed 0) of its UTF-8 bytes. */
export function hashClientKey(clientKey: string): number {
  return murmurHash3x86_32(utf8.encode(clientKey), 0);
}

/**
 * MurmurHash3_x86_32 (Austin Appleby, public domain): fast, non-cryptographic, and its final mix
 * avalanches every input bit into the high bits, which is what bucket boundaries compare. nginx's
 * split_clients uses its predecessor MurmurHash2. FNV-1a was rejected because it has no final mix:
 * on sequential keys (`session-0` … `session-9999`) its canary share missed w by up to 3.1 points,
 * MurmurHash3's by at most 0.74 (measured for w in steps of 5).
 * Stable across releases: changing it would move sticky clients between arms.
 */
export function murmurHash3x86_32(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blockBytes = bytes.length - (bytes.length % 4);
  let h = seed | 0;
  for (let offset = 0; offset < blockBytes; offset += 4) {
    const block = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24);
    h ^= scrambleBlock(block, c1, c2);
    h = rotl32(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let offset = bytes.length - 1; offset >= blockBytes; offset -= 1) tail = (tail << 8) | bytes[offset]!;
  if (bytes.length > blockBytes) h ^= scrambleBlock(tail, c1, c2);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function scrambleBlock(block: number, c1: number, c2: number): number {
  return Math.imul(rotl32(Math.imul(block, c1), 15), c2);
}

function rotl32(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/**
 * Passive health ejection (like Envoy's outlier detection and nginx's `max_fails`/`fail_timeout`):
 * the proxy learns that an arm's backend is down from the requests it sends there, and stops sending
 * it weighted traffic for a while, so a dead canary (crashed while no controller runs) costs a few
 * requests instead of every request the weights give it.
 */
export interface EjectionOptions {
  /** Consecutive connect failures (upstreamError `connect`) on an arm that eject it. Integer ≥ 1. */
  consecutiveFailures: number;
  /** The first ejection window, ms; each failed probe doubles it, up to `maxEjectionMs`. */
  ejectionMs: number;
  /** The longest ejection window, ms. */
  maxEjectionMs: number;
}

export const DEFAULT_EJECTION: Readonly<EjectionOptions> = Object.freeze({ consecutiveFailures: 3, ejectionMs: 5_000, maxEjectionMs: 30_000 });

/**
 * Where a request that the weights gave to an ejected arm goes instead: the first of these that is
 * not ejected and takes traffic (weight > 0), prod always counting as taking traffic (it is
 * production, running the current image, warm even at weight 0). The current version first: a
 * rerouted request should meet the code its client already knows.
 */
export const REROUTE_ORDER: readonly Arm[] = ['prod', 'baseline', 'canary'];

/** Which arm serves a weighted request, once ejections are taken into account. */
export interface HealthChoice {
  arm: Arm;
  /** Moved off the weights' arm because that arm is ejected: not randomised, so recorded as an override. */
  rerouted: boolean;
  /** The half-open probe of its (the weights') arm: its connect outcome re-admits or re-ejects the arm. */
  probe: boolean;
}

/**
 * The ejection state machine, per arm. Deterministic: time comes only from `clock` (ns, the proxy's
 * monotonic clock), no randomness.
 *
 * - Admitted → ejected after `consecutiveFailures` connect failures in a row. Any established
 *   connection (a new one, or a pooled keep-alive socket) resets the count. Only connect failures
 *   count: nothing was sent, so the backend is unreachable. Resets, timeouts and 5xx do not: they
 *   are the canary analysis's evidence, and ejecting for them would hide a regression from it.
 * - Ejected, within the window: {@link ArmHealth.choose} moves the arm's weighted requests to the
 *   first healthy arm of {@link REROUTE_ORDER} (none healthy: they stay on the arm, as the weights say).
 * - Ejected, window over (half-open): the next weighted request for the arm goes to it as the probe;
 *   until that probe has a verdict, further ones are moved as within the window. A probe that ends
 *   without one (the client left, or the deadline came before the connection) frees the slot.
 * - Any established connection to an ejected arm re-admits it (failures 0, window back to
 *   `ejectionMs`): the probe's, or that of a request pinned there by `X-Envctl-Target`.
 * - A connect failure after the window (the probe's, or any other) ejects again for twice the last
 *   window, at most `maxEjectionMs`. One within the window only counts.
 */
export interface ArmHealth {
  /** The arm for a request the weights gave to `assigned` (overrides do not come here: they stay pinned). */
  choose(assigned: Arm, weights: Weights): HealthChoice;
  /** Whether the arm is ejected (window running, or waiting for its probe's verdict). */
  isEjected(arm: Arm): boolean;
  /** A connection to the arm was established. */
  connected(arm: Arm): void;
  /** A connection to the arm could not be established. */
  connectFailed(arm: Arm): void;
  /** The request of `choice` has finished; if it was a probe still without a verdict, the next request probes. */
  settled(choice: HealthChoice): void;
  /** Per arm, null when admitted. */
  snapshot(): Record<Arm, ArmEjection | null>;
}

export function validateEjectionOptions(options: EjectionOptions): EjectionOptions {
  const { consecutiveFailures, ejectionMs, maxEjectionMs } = options;
  if (!Number.isSafeInteger(consecutiveFailures) || consecutiveFailures < 1) throw new RangeError(`consecutiveFailures must be an integer ≥ 1, got ${consecutiveFailures}`);
  if (!Number.isSafeInteger(ejectionMs) || ejectionMs < 1) throw new RangeError(`ejectionMs must be an integer ≥ 1, got ${ejectionMs}`);
  if (!Number.isSafeInteger(maxEjectionMs) || maxEjectionMs < ejectionMs) {
    throw new RangeError(`maxEjectionMs must be an integer ≥ ejectionMs (${ejectionMs}), got ${maxEjectionMs}`);
  }
  return { consecutiveFailures, ejectionMs, maxEjectionMs };
}

interface Ejection {
  untilNs: bigint;
  windowMs: number;
  /** The choice that is the probe in flight, if any (identity, so a stale probe cannot free a newer one's slot). */
  probe: HealthChoice | undefined;
}

interface ArmHealthState {
  failures: number;
  ejection: Ejection | undefined;
}

const NS_PER_MS = 1_000_000n;

export function createArmHealth(options: Partial<EjectionOptions>, clock: () => bigint): ArmHealth {
  const config = validateEjectionOptions({ ...DEFAULT_EJECTION, ...definedEjectionOptions(options) });
  const states = Object.fromEntries(ARMS.map((arm) => [arm, { failures: 0, ejection: undefined }])) as Record<Arm, ArmHealthState>;

  const eject = (state: ArmHealthState, windowMs: number): void => {
    state.ejection = { untilNs: clock() + BigInt(windowMs) * NS_PER_MS, windowMs, probe: undefined };
  };

  return {
    choose(assigned, weights) {
      const { ejection } = states[assigned];
      if (ejection === undefined) return { arm: assigned, rerouted: false, probe: false };
      if (ejection.probe === undefined && clock() >= ejection.untilNs) {
        const probe: HealthChoice = { arm: assigned, rerouted: false, probe: true };
        ejection.probe = probe;
        return probe;
      }
      const fallback = REROUTE_ORDER.find((arm) => arm !== assigned && (arm === 'prod' || weights[arm] > 0) && states[arm].ejection === undefined);
      // Every usable arm is ejected: nothing is known to be better than what the weights say.
      return fallback === undefined ? { arm: assigned, rerouted: false, probe: false } : { arm: fallback, rerouted: true, probe: false };
    },
    isEjected: (arm) => states[arm].ejection !== undefined,
    connected(arm) {
      const state = states[arm];
      state.failures = 0;
      state.ejection = undefined;
    },
    connectFailed(arm) {
      const state = states[arm];
      state.failures += 1;
      const { ejection } = state;
      if (ejection === undefined) {
        if (state.failures >= config.consecutiveFailures) eject(state, config.ejectionMs);
      } else if (clock() >= ejection.untilNs) {
        eject(state, Math.min(ejection.windowMs * 2, config.maxEjectionMs));
      }
    },
    settled(choice) {
      const { ejection } = states[choice.arm];
      if (ejection !== undefined && ejection.probe === choice) ejection.probe = undefined;
    },
    snapshot() {
      return Object.fromEntries(
        ARMS.map((arm) => {
          const { failures, ejection } = states[arm];
          return [arm, ejection === undefined ? null : { untilNs: ejection.untilNs.toString(), windowMs: ejection.windowMs, failures, probing: ejection.probe !== undefined }];
        }),
      ) as Record<Arm, ArmEjection | null>;
    },
  };
}

/** The options given, without the `undefined` ones (so defaults stay). */
function definedEjectionOptions(options: Partial<EjectionOptions>): Partial<EjectionOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
