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
 * Set ENVCTL_SIM_REPORT=1 to print the measured figures.
 */
import { judge, slowThresholdMs, type Reason } from '../../../src/release/analysis/judge.js';
import type { AnalysedArm, CountEvent, CountMetric, StepSnapshot } from '../../../src/release/analysis/snapshot.js';
import type { ReleaseConfig } from '../../../src/definition/schema.js';
import { XorShift128 } from './judge-support.js';

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

/** Prints measured figures when ENVCTL_SIM_REPORT is set (kept quiet in CI otherwise). */
export function report(line: string): void {
  if (process.env.ENVCTL_SIM_REPORT) console.log(`[sim] ${line}`);
}
