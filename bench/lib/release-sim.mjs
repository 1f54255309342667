/**
 * A seeded, virtual-time release driven by envctl's pure judge (the built one, dist/), ported from
 * test/unit/release/simulate-support.ts so the bench measures what the tests simulate: generated
 * load at `rps`, the release's steps, per step a warm-up (not analysed), then the judge until it
 * decides. Canary and baseline requests interleave exactly. `everySecond` calls the judge every
 * virtual second as the controller does; without it only at the moments that can change the
 * outcome (same verdicts, a fraction of the cost; see the test support's header).
 *
 * Keep in step with test/unit/release/simulate-support.ts and judge-support.ts (XorShift128).
 */
import { definitionSchema } from '../../dist/definition/schema.js';
import { judge, slowThresholdMs } from '../../dist/release/analysis/judge.js';

/** `pipeline.release` with every default applied, plus `overrides` in the written (YAML) form. */
export function releaseConfig(overrides = {}) {
  return definitionSchema.parse({ pipeline: { release: { service: 'web', ...overrides } } }).pipeline.release;
}

export const HEALTHY = { errorRate: 0.01, logErrorRate: 0.01, medianMs: 50, sigma: 0.5 };

/** Marsaglia's xorshift128, seeded exactly as the tests' generator. */
export class XorShift128 {
  #spare;
  constructor(seed) {
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
  uint32() {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }
  uniform() {
    return this.uint32() / 4_294_967_296;
  }
  normal() {
    if (this.#spare !== undefined) {
      const value = this.#spare;
      this.#spare = undefined;
      return value;
    }
    const u = (this.uint32() + 1) / 4_294_967_297;
    const angle = 2 * Math.PI * this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.#spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
  lognormal(medianMs, sigma) {
    return medianMs * Math.exp(sigma * this.normal());
  }
}

/** `{ action, step, reasons, canaryRequests, canaryRequestsAtCrossing }` as the test support's. */
export function simulateRelease(seed, scenario, config, everySecond = false) {
  const rng = new XorShift128(seed);
  const steps = config.steps.length;
  let canaryRequests = 0;
  let previousBaseline = [];
  for (let index = 0; index < steps; index++) {
    const step = index + 1;
    const weight = config.steps[index];
    const perArmRate = (scenario.rps * weight) / 100;
    const warmupSeconds = perArmRate === 0 ? config.warmup.seconds : Math.max(config.warmup.seconds, Math.ceil(config.warmup.requests / perArmRate));
    let slowThreshold = null;
    let run = 0;
    let longestRun = 0;
    let analysing = false;
    let canaryBad = 0;
    const warmupBaseline = [];
    const events = [];
    const canaryAtEvent = { bad: [], slow: [], logError: [] };
    const latency = { canary: [], baseline: [] };
    const analysed = { canary: 0, baseline: 0 };
    const record = (arm, kind) => {
      events.push({ arm, kind });
      canaryAtEvent[kind].push(analysed.canary);
    };
    const serve = (arm) => {
      const behaviour = scenario[arm];
      if (arm === 'canary') canaryRequests++;
      const bad = rng.uniform() < behaviour.errorRate;
      if (arm === 'canary') {
        run = bad ? run + 1 : 0;
        if (run > longestRun) longestRun = run;
      }
      const loggedError = rng.uniform() < behaviour.logErrorRate;
      if (!analysing) {
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
      const snapshot = {
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
      const crossing = verdict.reasons.find((reason) => reason.code === 'count-regression');
      const canaryRequestsAtCrossing = crossing ? canaryAtEvent[crossing.metric][crossing.event - 1] : null;
      return { action: verdict.action, step, reasons: verdict.reasons, canaryRequests, canaryRequestsAtCrossing };
    }
    previousBaseline = latency.baseline;
  }
  return { action: 'promoted', step: steps, reasons: [], canaryRequests, canaryRequestsAtCrossing: null };
}

function mayDecide(config, elapsedMs, analysed, canaryBad, latency) {
  const { minRequests, maxBadRate } = config.guardrails;
  if (analysed.canary >= minRequests && canaryBad / analysed.canary >= maxBadRate) return true;
  if (elapsedMs >= config.stepMaxDuration) return true;
  return Math.min(analysed.canary, analysed.baseline) >= config.stepMinRequests && elapsedMs >= config.stepMinDuration && Math.min(latency.canary.length, latency.baseline.length) > 0;
}

/** The q-quantile (nearest rank), as the tests compute it. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
