/**
 * A seeded, virtual-time simulation of one release driven by the pure judge, as the controller
 * would drive it (canary.md §3.4, §3.7): generated load at `rps`, steps 10 → 25 → 50, per step a
 * warm-up (≥ 10 s and ≥ 20 requests per arm, not analysed), then the judge until it decides.
 * Canary and baseline requests interleave exactly (smooth WRR with equal weights).
 *
 * `everySecond` calls the judge every virtual second, as the controller does. Without it the judge
 * is only called at the moments that can change the outcome, which gives the same verdicts at a
 * fraction of the cost (10 000 releases): the SPRT crossing and the longest bad run are judged over
 * the whole step's history, so a step-end call sees any crossing that happened earlier; the only
 * rule that depends on the moment of evaluation, the canary bad-rate guardrail, is pre-checked
 * here every second; the step ends when the minimums are met or the step times out.
 *
 * Used by the judge's simulation tests and by `npm run bench` (release-judge scenario): one
 * implementation, so the benchmark measures exactly what the tests check.
 */
import type { ReleaseConfig } from '../../definition/schema.js';
import { judge, slowThresholdMs, type Reason } from './judge.js';
import type { AnalysedArm, CountEvent, CountMetric, StepSnapshot } from './snapshot.js';

export interface ArmBehaviour {
  /** Probability that a request is bad (5xx, upstream error, timeout). */
  errorRate: number;
  /** Error log lines per request (probability that a request logs one). */
  logErrorRate: number;
  /** Lognormal latency of good responses. */
  medianMs: number;
  sigma: number;
}

export interface Scenario {
  canary: ArmBehaviour;
  baseline: ArmBehaviour;
  /** Generated load, requests per second over all three arms. */
  rps: number;
}

export interface ReleaseOutcome {
  action: 'promoted' | 'rollback' | 'inconclusive' | 'gate';
  /** 1-based step of the final decision. */
  step: number;
  reasons: Reason[];
  /** Canary requests served (warm-up included, all steps) when the judge decided. */
  canaryRequests: number;
  /**
   * For an SPRT rollback: analysed canary requests of that step when L first crossed (the judge
   * looks every second; the crossing is what the test itself detected).
   */
  canaryRequestsAtCrossing: number | null;
}

export const HEALTHY: ArmBehaviour = { errorRate: 0.01, logErrorRate: 0.01, medianMs: 50, sigma: 0.5 };

export function simulateRelease(seed: number, scenario: Scenario, config: ReleaseConfig, everySecond = false): ReleaseOutcome {
  const rng = new XorShift128(seed);
  const steps = config.steps.length;
  let canaryRequests = 0;
  let previousBaseline: number[] = [];

  for (let index = 0; index < steps; index++) {
    const step = index + 1;
    const weight = config.steps[index]!;
    const perArmRate = (scenario.rps * weight) / 100;
    const warmupSeconds = perArmRate === 0 ? config.warmup.seconds : Math.max(config.warmup.seconds, Math.ceil(config.warmup.requests / perArmRate));

    // Per-step state, reset at the step boundary as the proxy resets its aggregates.
    let slowThreshold: number | null = null;
    let run = 0;
    let longestRun = 0;
    let analysing = false;
    let canaryBad = 0;
    const warmupBaseline: number[] = [];
    const events: CountEvent[] = [];
    const canaryAtEvent: Record<CountMetric, number[]> = { bad: [], slow: [], logError: [] };
    const latency: Record<AnalysedArm, number[]> = { canary: [], baseline: [] };
    const analysed = { canary: 0, baseline: 0 };

    const record = (arm: AnalysedArm, kind: CountMetric) => {
      events.push({ arm, kind });
      canaryAtEvent[kind].push(analysed.canary);
    };
    const serve = (arm: AnalysedArm) => {
      const behaviour = scenario[arm];
      if (arm === 'canary') canaryRequests++;
      const bad = rng.uniform() < behaviour.errorRate;
      if (arm === 'canary') {
        run = bad ? run + 1 : 0;
        if (run > longestRun) longestRun = run;
      }
      const loggedError = rng.uniform() < behaviour.logErrorRate;
      if (!analysing) {
        // Only the baseline's warm-up latencies are used (the first step's slow threshold).
        if (arm === 'baseline' && !bad) warmupBaseline.push(rng.lognormal(behaviour.medianMs, behaviour.sigma));
        return;
      }
      const ms = bad ? 0 : rng.lognormal(behaviour.medianMs, behaviour.sigma);
      analysed[arm]++;
      if (bad && arm === 'canary') canaryBad++;
      if (bad) record(arm, 'bad');
      else {
        latency[arm].push(ms);
        if (slowThreshold !== null && ms > slowThreshold) record(arm, 'slow');
      }
      if (loggedError) record(arm, 'logError');
    };

    for (let second = 1; ; second++) {
      if (second === warmupSeconds + 1) {
        analysing = true;
        slowThreshold = slowThresholdMs(config, index === 0 ? warmupBaseline : previousBaseline);
      }
      const count = Math.floor(second * perArmRate) - Math.floor((second - 1) * perArmRate);
      for (let i = 0; i < count; i++) {
        serve('canary');
        serve('baseline');
      }
      if (!everySecond && !mayDecide(config, second * 1000, analysed, canaryBad, latency)) continue;
      const snapshot: StepSnapshot = {
        step,
        weight,
        elapsedMs: second * 1000,
        warmingUp: !analysing,
        pi: 0.5,
        analysed: { canary: analysed.canary, baseline: analysed.baseline },
        events,
        latencyMs: latency,
        slowThresholdMs: slowThreshold,
        health: { canary: 'healthy', baseline: 'healthy' },
        longestCanaryBadRun: longestRun,
        newFingerprints: [],
        seed,
      };
      const verdict = judge(snapshot, config, steps);
      if (verdict.action === 'continue') continue;
      if (verdict.action === 'advance') break;
      const crossingReason = verdict.reasons.find((r) => r.code === 'count-regression');
      const canaryRequestsAtCrossing =
        crossingReason?.code === 'count-regression' ? canaryAtEvent[crossingReason.metric][crossingReason.event - 1]! : null;
      return { action: verdict.action, step, reasons: verdict.reasons, canaryRequests, canaryRequestsAtCrossing };
    }
    previousBaseline = latency.baseline;
  }
  return { action: 'promoted', step: steps, reasons: [], canaryRequests, canaryRequestsAtCrossing: null };
}

/** Whether a judge call at this moment can return anything but `continue` (see the header). */
function mayDecide(
  config: ReleaseConfig,
  elapsedMs: number,
  analysed: Record<AnalysedArm, number>,
  canaryBad: number,
  latency: Record<AnalysedArm, number[]>,
): boolean {
  const { minRequests, maxBadRate } = config.guardrails;
  if (analysed.canary >= minRequests && canaryBad / analysed.canary >= maxBadRate) return true;
  if (elapsedMs >= config.stepMaxDuration) return true;
  return (
    Math.min(analysed.canary, analysed.baseline) >= config.stepMinRequests &&
    elapsedMs >= config.stepMinDuration &&
    Math.min(latency.canary.length, latency.baseline.length) > 0
  );
}

/**
 * Marsaglia's xorshift128 (32-bit words): fast, seedable, plenty for Monte Carlo at these sizes.
 * The seed is spread with a multiplicative hash so neighbouring seeds give unrelated streams.
 */
export class XorShift128 {
  private x: number;
  private y: number;
  private z: number;
  private w: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let s = (seed ^ 0xdeadbeef) >>> 0;
    const next = () => {
      s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      s = Math.imul(s ^ (s >>> 12), 0x297a2d39) >>> 0;
      return (s ^ (s >>> 15)) >>> 0 || 1;
    };
    this.x = next();
    this.y = next();
    this.z = next();
    this.w = next();
    for (let i = 0; i < 8; i++) this.uint32();
  }

  uint32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.uint32() / 4_294_967_296;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u = (this.uint32() + 1) / 4_294_967_297;
    const angle = 2 * Math.PI * this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Lognormal latency in ms with the given median and log-scale σ. */
  lognormal(medianMs: number, sigma: number): number {
    return medianMs * Math.exp(sigma * this.normal());
  }
}

/** The q-quantile (nearest rank) of a numeric list. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
