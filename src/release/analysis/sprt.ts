/**
 * The conditional-binomial sequential probability ratio test for count metrics (canary.md §3.3a):
 * given that a bad event happened, under H0 (same per-request rate on both arms) it came from the
 * canary with probability π, the canary's share of analysed traffic. The alternative gives the
 * canary θ times the baseline's odds: q = θπ / (θπ + 1 − π).
 *
 * The log e-value L starts at 0 each step; a canary event adds ln(q/π), a baseline event
 * ln((1 − q)/(1 − π)). exp(L) is a non-negative martingale under H0, so by Ville's inequality the
 * chance that L *ever* reaches ln(1/a) is at most a, however often it is looked at. No lower
 * boundary and no flooring at 0: flooring would break that guarantee.
 */

/** An arm whose requests enter the statistics (prod does not). */
export type AnalysedArm = 'canary' | 'baseline';

export interface SprtIncrements {
  /** P(event is the canary's) under the alternative. */
  q: number;
  /** Added to L for each canary event (> 0). */
  canary: number;
  /** Added to L for each baseline event (< 0). */
  baseline: number;
}

/** The per-event steps of L for canary share `pi` (0 < π < 1) and odds ratio `theta` (> 1). */
export function sprtIncrements(pi: number, theta: number): SprtIncrements {
  const q = (theta * pi) / (theta * pi + 1 - pi);
  return { q, canary: Math.log(q / pi), baseline: Math.log((1 - q) / (1 - pi)) };
}

/**
 * Roll-back threshold ln(K/α_m): α_m is the metric's share of the release-wide false-rollback
 * budget, split equally over the K steps (K = 3, α_m = 0.004 → 6.62).
 */
export function sprtThreshold(alphaMetric: number, steps: number): number {
  return Math.log(steps / alphaMetric);
}

/** The log e-value after all `events` (each a bad, slow or log-error event of one metric, in order). */
export function sprtLogE(events: Iterable<{ readonly arm: AnalysedArm }>, pi: number, theta: number): number {
  return traceSprt(events, pi, theta, Infinity).logE;
}

export interface SprtCrossing {
  /** 1-based position in the metric's event stream of the event that took L to the threshold. */
  event: number;
  canaryEvents: number;
  baselineEvents: number;
  logE: number;
}

export interface SprtTrace {
  /** L after the last event. */
  logE: number;
  /** Largest L reached (0 before any event). */
  maxLogE: number;
  canaryEvents: number;
  baselineEvents: number;
  /** The first time L reached `threshold`, if it did. */
  crossing: SprtCrossing | null;
}

/**
 * Walks the event stream and reports where L first reached `threshold`. The judge rolls back on a
 * crossing even if later baseline events took L back down: Ville's bound covers the supremum over
 * the whole stream, so acting on it is as valid as stopping at that moment, and the decision does not
 * depend on how often the controller happened to evaluate.
 *
 * L is recomputed from the counts at each event (c·ln(q/π) + b·ln((1−q)/(1−π))) rather than
 * accumulated, so it carries no drift from thousands of additions.
 */
export function traceSprt(events: Iterable<{ readonly arm: AnalysedArm }>, pi: number, theta: number, threshold: number): SprtTrace {
  const step = sprtIncrements(pi, theta);
  let canaryEvents = 0;
  let baselineEvents = 0;
  let logE = 0;
  let maxLogE = 0;
  let crossing: SprtCrossing | null = null;
  for (const event of events) {
    if (event.arm === 'canary') canaryEvents++;
    else baselineEvents++;
    logE = canaryEvents * step.canary + baselineEvents * step.baseline;
    if (logE > maxLogE) maxLogE = logE;
    if (crossing === null && logE >= threshold) {
      crossing = { event: canaryEvents + baselineEvents, canaryEvents, baselineEvents, logE };
    }
  }
  return { logE, maxLogE, canaryEvents, baselineEvents, crossing };
}
