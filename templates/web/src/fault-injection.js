// Deliberate faults for the canary-release demo: builds of this image that misbehave on purpose
// (WEB_FAULT and friends, baked in by the Dockerfile's build args), so that a person can watch a
// release roll back. /healthz is never faulty: the container stays healthy, and only the release's
// request statistics and error logs can catch the fault.
import { setTimeout as sleep } from 'node:timers/promises';

export const FAULT_KINDS = ['none', 'errors', 'latency'];
export const DEFAULT_FAULT_RATE = 0.2; // share of requests answered 500 under WEB_FAULT=errors
export const DEFAULT_FAULT_DELAY_MS = 150;
export const MAX_FAULT_DELAY_MS = 10_000;
const FAULT_FREE_PATHS = new Set(['/healthz']);

/**
 * WEB_FAULT, WEB_FAULT_RATE and WEB_FAULT_DELAY_MS (unset or empty = default) as
 * { kind: 'none' } | { kind: 'errors', rate } | { kind: 'latency', delayMs }.
 * Throws an Error naming the variable and its allowed values. The rate and the delay are checked
 * even when the kind does not use them: a typo is a typo.
 */
export function parseFault(env) {
  const kind = env.WEB_FAULT || 'none';
  if (!FAULT_KINDS.includes(kind)) throw new Error(`WEB_FAULT must be one of ${FAULT_KINDS.join(', ')}; got '${kind}'`);
  const rate = parseRate(env.WEB_FAULT_RATE);
  const delayMs = parseDelayMs(env.WEB_FAULT_DELAY_MS);
  if (kind === 'errors') return { kind, rate };
  if (kind === 'latency') return { kind, delayMs };
  return { kind };
}

function parseRate(value) {
  if (value === undefined || value === '') return DEFAULT_FAULT_RATE;
  const rate = Number(value);
  if (!(rate > 0 && rate <= 1)) {
    throw new Error(`WEB_FAULT_RATE must be a number above 0 and at most 1 (0.2 fails every 5th request); got '${value}'`);
  }
  return rate;
}

function parseDelayMs(value) {
  if (value === undefined || value === '') return DEFAULT_FAULT_DELAY_MS;
  const delayMs = Number(value);
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_FAULT_DELAY_MS) {
    throw new Error(`WEB_FAULT_DELAY_MS must be a whole number of milliseconds from 0 to ${MAX_FAULT_DELAY_MS}; got '${value}'`);
  }
  return delayMs;
}

/**
 * Whether request `n` (counting from 1) is one of the `rate` share that fail: it is when
 * floor(n × rate) goes up. No randomness, so a test can pin it, and the failures are evenly
 * spread with an exact share: 0.2 fails the 5th, 10th, 15th, …; 0.3 the 4th, 7th, 10th, … (3 in 10).
 */
export function isFailingRequest(n, rate) {
  return Math.floor(n * rate) > Math.floor((n - 1) * rate);
}

/**
 * Per request, in arrival order: `await injectFault(pathname)` is null (answer normally; under
 * 'latency' only after `delayMs`) or, under 'errors', why this request must be answered 500.
 * /healthz is neither delayed nor counted.
 */
export function createFaultInjector(fault, { wait = sleep } = {}) {
  let counted = 0; // requests seen under 'errors', /healthz excluded
  return async function injectFault(pathname) {
    if (fault.kind === 'none' || FAULT_FREE_PATHS.has(pathname)) return null;
    if (fault.kind === 'latency') {
      await wait(fault.delayMs);
      return null;
    }
    counted += 1;
    if (!isFailingRequest(counted, fault.rate)) return null;
    return `request ${counted} fails (WEB_FAULT=errors, WEB_FAULT_RATE=${fault.rate})`;
  };
}
