/**
 * What the judge reads (canary.md §3.2 "Aggregates the judge reads"): one step's aggregates for the
 * two analysed arms, built by the proxy/controller from `requests.jsonl` and the container logs.
 * Nothing else enters a decision, so re-judging a recorded snapshot reproduces the verdict exactly.
 * Plain JSON data (arrays may also be Float64Array in memory).
 */
import type { NewFingerprint } from './fingerprint.js';
import type { AnalysedArm } from './sprt.js';
import type { Samples } from './stats.js';

export type { AnalysedArm } from './sprt.js';

/** The count metrics tested with the SPRT. */
export const COUNT_METRICS = ['bad', 'slow', 'logError'] as const;
export type CountMetric = (typeof COUNT_METRICS)[number];

/**
 * One counted event, in arrival order. `bad`: status ≥ 500, upstream error or proxy timeout;
 * `slow`: a good response slower than the step's `slowThresholdMs`; `logError`: a container log line
 * matching `logErrorPattern`, attributed to the container's arm.
 */
export interface CountEvent {
  arm: AnalysedArm;
  kind: CountMetric;
}

/**
 * `running`: up, no health check defined; `starting`: health check not passed yet;
 * `unhealthy` / `exited`: the container failed.
 */
export type ContainerHealth = 'running' | 'starting' | 'healthy' | 'unhealthy' | 'exited';

export interface StepSnapshot {
  /** 1-based step number (index into `release.steps` + 1). */
  step: number;
  /** The canary's traffic share at this step, in %. */
  weight: number;
  /** Time since the step started (weights applied), in ms of the controller's clock (virtual in tests). */
  elapsedMs: number;
  /** True until warm-up ends (10 s and 20 requests per arm after the step change, whichever is later). */
  warmingUp: boolean;
  /**
   * The canary's share of analysed requests by construction of the weights (w / (w + w) = 0.5 with
   * a fresh baseline), not the observed share: the SPRT needs a fixed π.
   */
  pi: number;
  /** Analysed requests per arm: after warm-up, override and mirrored traffic excluded. */
  analysed: Readonly<Record<AnalysedArm, number>>;
  /** Bad, slow and log-error events of analysed traffic, in arrival order. */
  events: readonly CountEvent[];
  /** Latency (totalUs / 1000, in ms) of each analysed good (non-bad) response, per arm, in arrival order. */
  latencyMs: Readonly<Record<AnalysedArm, Samples>>;
  /**
   * The slow threshold T fixed at step start (`slowThresholdMs()`), in ms; null when the slow test is
   * skipped this step (fewer than 59 baseline samples to bound the p95, and no SLO).
   */
  slowThresholdMs: number | null;
  health: Readonly<Record<AnalysedArm, ContainerHealth>>;
  /** Longest run of consecutive bad canary responses in this step, warm-up included. */
  longestCanaryBadRun: number;
  /** Canary-only error fingerprints during the release (`findNewFingerprints()`). */
  newFingerprints: readonly NewFingerprint[];
  /** Seeds the Hodges-Lehmann reservoirs (`seedFromString(releaseId)`), so replays draw the same ones. */
  seed: number;
}
