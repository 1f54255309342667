/**
 * A seeded, virtual-time simulation of one release driven by the pure judge, as the controller
 * would drive it (canary.md §3.4, §3.7): 50 rps of generated load, steps 10 → 25 → 50, per step a
 * warm-up (≥ 10 s and ≥ 20 requests per arm, not analysed), then the judge every virtual second
 * until it decides. Canary and baseline requests interleave exactly (smooth WRR with equal weights).
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
   * For an SPRT rollback: canary requests served when L first crossed (the judge looks every
   * second; the crossing is what the test itself detected).
   */
  canaryRequestsAtCrossing: number | null;
}

export const HEALTHY: ArmBehaviour = { errorRate: 0.01, logErrorRate: 0.01, medianMs: 50, sigma: 0.5 };

export function simulateRelease(seed: number, scenario: Scenario, config: ReleaseConfig): ReleaseOutcome {
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
    const warmupBaseline: number[] = [];
    const events: CountEvent[] = [];
    const canaryAtEvent: Record<CountMetric, number[]> = { bad: [], slow: [], logError: [] };
    const latency: Record<AnalysedArm, number[]> = { canary: [], baseline: [] };
    const analysed = { canary: 0, baseline: 0 };

    const record = (arm: AnalysedArm, kind: CountMetric) => {
      events.push({ arm, kind });
      canaryAtEvent[kind].push(canaryRequests);
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
      const ms = bad ? 0 : rng.lognormal(behaviour.medianMs, behaviour.sigma);
      if (!analysing) {
        if (arm === 'baseline' && !bad) warmupBaseline.push(ms);
        return;
      }
      analysed[arm]++;
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

/** Prints measured figures when ENVCTL_SIM_REPORT is set (kept quiet in CI otherwise). */
export function report(line: string): void {
  if (process.env.ENVCTL_SIM_REPORT) console.log(`[sim] ${line}`);
}
