/**
 * One step's aggregates, folded incrementally from the proxy's request records and the containers'
 * log lines (canary.md §3.2), read out as the judge's `StepSnapshot`. Pure: no clock (times come
 * from the records and the caller's `nowNs`), no I/O, randomness only from the seeded rng, so the
 * controller and `envctl release judge --replay` build the same snapshot from the same input.
 *
 * Rules:
 * - override and mirrored requests are ignored entirely; prod requests are not analysed;
 * - warm-up ends when `warmup.seconds` have passed since the step started *and* each analysed arm has
 *   served `warmup.requests` requests, whichever is later; warm-up requests are not analysed but
 *   do count towards the canary's consecutive-bad run (the guardrail watches warm-up too);
 * - bad = status ≥ 500 or an upstream error (the proxy reports its own timeout as `timeout`);
 *   slow = a good response above the step's slow threshold; latency = totalUs / 1000 of good ones;
 * - at most `latencyCapPerArm` latencies per arm, beyond that a uniform reservoir (Algorithm R)
 *   drawn with the release seed;
 * - log lines matching `logErrorPattern` are error events of their arm once warm-up has ended, and
 *   fingerprinted over the whole release (warm-up and prod included) for new-fingerprint detection.
 */
import type { ReleaseConfig } from '../../definition/schema.js';
import type { Arm, RequestRecord } from '../../proxy/types.js';
import { fingerprint, findNewFingerprints } from '../analysis/fingerprint.js';
import { slowThresholdMs } from '../analysis/judge.js';
import { createRng, nextBelow, type Rng } from '../analysis/rng.js';
import type { AnalysedArm, ContainerHealth, CountEvent, CountMetric, StepSnapshot } from '../analysis/snapshot.js';
import type { Samples } from '../analysis/stats.js';

/** Raw latencies kept per arm and step before reservoir sampling takes over (canary.md §3.2). */
export const LATENCY_CAP_PER_ARM = 50_000;

/**
 * The canary's share of analysed requests: canary and fresh baseline get the same weight at every
 * step (canary.md §3.1), so π = w / (w + w) by construction.
 */
export const ANALYSED_PI = 0.5;

const NS_PER_MS = 1_000_000n;

/** The parts of the release config the aggregator reads. */
export type AggregatorConfig = Pick<ReleaseConfig, 'steps' | 'warmup' | 'latency' | 'slo' | 'logErrorPattern'>;

/**
 * Error fingerprints seen so far in the release (they span steps): canary line counts per
 * fingerprint, and every fingerprint baseline or prod printed.
 */
export interface FingerprintTally {
  canaryCounts: ReadonlyMap<string, number>;
  seenElsewhere: ReadonlySet<string>;
}

export const EMPTY_FINGERPRINTS: FingerprintTally = { canaryCounts: new Map(), seenElsewhere: new Set() };

export interface StepAggregatorOptions {
  /** 1-based step number; records of other steps are ignored. */
  step: number;
  /** When the step's weights were applied, monotonic ns (decimal string, as in `RequestRecord`). */
  stepStartNs: string;
  config: AggregatorConfig;
  /** Release seed (`seedFromString(releaseId)`): latency reservoirs and the judge's Hodges-Lehmann draws. */
  seed: number;
  /**
   * The previous step's analysed baseline latencies (ms), for the slow threshold fixed at step start;
   * null for the first step, whose threshold is fixed when warm-up ends from the warm-up's good
   * baseline latencies (judge.ts `slowThresholdMs`).
   */
  previousBaselineLatenciesMs: Samples | null;
  /** Fingerprints from earlier steps of the release; empty for the first step. */
  previousFingerprints?: FingerprintTally;
  /** Defaults to `LATENCY_CAP_PER_ARM`; smaller in tests. */
  latencyCapPerArm?: number;
  /** Container health at step start; `running` for both when omitted. */
  health?: Readonly<Record<AnalysedArm, ContainerHealth>>;
}

export interface LogLine {
  arm: Arm;
  line: string;
  /** Monotonic ns (decimal string) when the line was read. */
  tMonoNs: string;
}

export interface StepAggregator {
  addRequest(record: RequestRecord): void;
  addLogLine(line: LogLine): void;
  setHealth(arm: AnalysedArm, health: ContainerHealth): void;
  /** The judge's view at `nowNs` (monotonic ns, decimal string); copies, so later additions do not change it. */
  snapshot(nowNs: string): StepSnapshot;
  /** Release-wide fingerprints including this step, for the next step's `previousFingerprints`. */
  fingerprints(): FingerprintTally;
  /** All analysed good baseline latencies kept (reservoir), for the next step's slow threshold. */
  baselineLatenciesMs(): Float64Array;
}

interface Reservoir {
  values: number[];
  /** Values offered so far (kept or not). */
  seen: number;
  rng: Rng;
}

export function createStepAggregator(options: StepAggregatorOptions): StepAggregator {
  const { step, config, seed } = options;
  const startNs = BigInt(options.stepStartNs);
  const warmupEndNs = startNs + BigInt(Math.round(config.warmup.seconds * 1e9));
  const cap = options.latencyCapPerArm ?? LATENCY_CAP_PER_ARM;
  const weight = config.steps[step - 1];
  if (weight === undefined) throw new RangeError(`step ${step} is not one of the ${config.steps.length} release steps`);
  const errorPattern = new RegExp(config.logErrorPattern);

  const fixedAtStart = options.previousBaselineLatenciesMs;
  let threshold: number | null = fixedAtStart === null ? null : slowThresholdMs(config, fixedAtStart);
  const warmupBaseline: number[] = [];

  let warmingUp = true;
  const warmupRequests: Record<AnalysedArm, number> = { canary: 0, baseline: 0 };
  const analysed: Record<AnalysedArm, number> = { canary: 0, baseline: 0 };
  const events: CountEvent[] = [];
  // One generator per arm, so an arm's sample does not depend on how the arms interleave.
  const latency: Record<AnalysedArm, Reservoir> = {
    canary: { values: [], seen: 0, rng: createRng(seed) },
    baseline: { values: [], seen: 0, rng: createRng((seed ^ 0x9e3779b9) >>> 0) },
  };
  const health: Record<AnalysedArm, ContainerHealth> = { canary: 'running', baseline: 'running', ...options.health };
  let canaryRun = 0;
  let longestCanaryRun = 0;

  const previous = options.previousFingerprints ?? EMPTY_FINGERPRINTS;
  const canaryCounts = new Map(previous.canaryCounts);
  const seenElsewhere = new Set(previous.seenElsewhere);

  /** Ends warm-up if both conditions hold at `tNs`; the request arriving at `tNs` is then analysed. */
  const updateWarmup = (tNs: bigint): void => {
    if (!warmingUp || tNs < warmupEndNs) return;
    if (Math.min(warmupRequests.canary, warmupRequests.baseline) < config.warmup.requests) return;
    warmingUp = false;
    if (fixedAtStart === null) threshold = slowThresholdMs(config, warmupBaseline);
  };

  const record = (arm: AnalysedArm, kind: CountMetric): void => {
    events.push({ arm, kind });
  };

  const keepLatency = (reservoir: Reservoir, ms: number): void => {
    reservoir.seen++;
    if (reservoir.values.length < cap) {
      reservoir.values.push(ms);
      return;
    }
    const slot = nextBelow(reservoir.rng, reservoir.seen);
    if (slot < cap) reservoir.values[slot] = ms;
  };

  return {
    addRequest(request) {
      if (request.step !== step || request.override || request.mirrored || request.arm === 'prod') return;
      const arm = request.arm;
      const bad = request.status >= 500 || request.upstreamError !== 'none';
      const ms = request.totalUs / 1000;
      if (arm === 'canary') {
        canaryRun = bad ? canaryRun + 1 : 0;
        longestCanaryRun = Math.max(longestCanaryRun, canaryRun);
      }
      updateWarmup(BigInt(request.tMonoNs));
      if (warmingUp) {
        warmupRequests[arm]++;
        if (arm === 'baseline' && !bad) warmupBaseline.push(ms);
        return;
      }
      analysed[arm]++;
      if (bad) {
        record(arm, 'bad');
        return;
      }
      keepLatency(latency[arm], ms);
      if (threshold !== null && ms > threshold) record(arm, 'slow');
    },

    addLogLine({ arm, line, tMonoNs }) {
      if (!errorPattern.test(line)) return;
      const print = fingerprint(line);
      if (arm === 'canary') canaryCounts.set(print, (canaryCounts.get(print) ?? 0) + 1);
      else seenElsewhere.add(print);
      if (arm === 'prod') return;
      updateWarmup(BigInt(tMonoNs));
      if (!warmingUp) record(arm, 'logError');
    },

    setHealth(arm, value) {
      health[arm] = value;
    },

    snapshot(nowNs) {
      const now = BigInt(nowNs);
      updateWarmup(now);
      const elapsedNs = now - startNs;
      return {
        step,
        weight,
        // Whole ms as an exact integer part plus the sub-ms remainder, so large monotonic values keep precision.
        elapsedMs: Number(elapsedNs / NS_PER_MS) + Number(elapsedNs % NS_PER_MS) / 1e6,
        warmingUp,
        pi: ANALYSED_PI,
        analysed: { ...analysed },
        events: events.slice(),
        latencyMs: { canary: new Float64Array(latency.canary.values), baseline: new Float64Array(latency.baseline.values) },
        slowThresholdMs: threshold,
        health: { ...health },
        longestCanaryBadRun: longestCanaryRun,
        newFingerprints: findNewFingerprints(canaryCounts, seenElsewhere),
        seed,
      };
    },

    fingerprints() {
      return { canaryCounts: new Map(canaryCounts), seenElsewhere: new Set(seenElsewhere) };
    },

    baselineLatenciesMs() {
      return new Float64Array(latency.baseline.values);
    },
  };
}
