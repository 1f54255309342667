/**
 * Runs infrastructure checks the way goss validates with `--retry-timeout` and `--sleep`: a
 * failing check is tried again every `intervalMs` until it passes or `timeoutMs` has passed, and
 * the last attempt's reasons are reported. Outcomes are values; only an unreachable engine throws.
 */
import { attemptCheck, type Attempt } from './kinds.js';
import type { CheckContext, CheckResult, CheckTiming, InfraCheck } from './types.js';

/** Each attempt may take at least this long (ms), even once the retry budget is spent: a timeout of 0 still means one real attempt. */
export const MIN_ATTEMPT_MS = 1_000;
/** Each probe inside an attempt (one exec, one request) gets at least this long (ms). */
const MIN_PROBE_MS = 250;
/** Checks run at once: they mostly wait on the engine and the network, and each is independent. */
export const CHECK_CONCURRENCY = 4;

export async function runCheck(check: InfraCheck, ctx: CheckContext, timing: CheckTiming): Promise<CheckResult> {
  const started = ctx.now();
  const elapsed = () => ctx.now() - started;
  let attempts = 0;
  let last: Attempt | undefined;
  while (!ctx.signal.aborted) {
    attempts += 1;
    const attemptEnds = ctx.now() + Math.max(timing.timeoutMs - elapsed(), MIN_ATTEMPT_MS);
    const attempt = await attemptCheck(check, ctx, () => Math.max(attemptEnds - ctx.now(), MIN_PROBE_MS));
    // An attempt cut short by cancellation says only "cancelled": keep the previous one's reasons.
    if (ctx.signal.aborted && !attempt.passed) break;
    last = attempt;
    if (attempt.passed || attempt.final) break;
    const left = timing.timeoutMs - elapsed();
    if (left <= 0) break;
    await ctx.sleep(Math.min(Math.max(timing.intervalMs, 0), left), ctx.signal);
  }
  const result = { name: check.name, kind: check.kind, service: check.service, durationMs: elapsed(), attempts };
  if (last?.passed) return { ...result, status: 'passed', reasons: last.reasons };
  if (ctx.signal.aborted) return { ...result, status: 'failed', reasons: ['cancelled before the check passed', ...(last?.reasons ?? [])] };
  return { ...result, status: 'failed', reasons: last?.reasons ?? [] };
}

/**
 * Runs the checks, CHECK_CONCURRENCY at a time, calling `onResult` as each completes; returns
 * the results in the order of `checks`. Once `ctx.signal` aborts no further check starts (running
 * ones end as cancelled), so fewer results than checks may come back.
 */
export async function runChecks(checks: readonly InfraCheck[], ctx: CheckContext, timing: CheckTiming, onResult?: (result: CheckResult) => void): Promise<CheckResult[]> {
  // A thrown error (engine gone) stops the other workers too, then is rethrown once they settle.
  const stop = new AbortController();
  const shared: CheckContext = { ...ctx, signal: AbortSignal.any([ctx.signal, stop.signal]) };
  const results: Array<CheckResult | undefined> = checks.map(() => undefined);
  let next = 0;
  const worker = async () => {
    while (next < checks.length && !shared.signal.aborted) {
      const index = next;
      next += 1;
      const result = await runCheck(checks[index]!, shared, timing);
      results[index] = result;
      onResult?.(result);
    }
  };
  const workers = Array.from({ length: Math.min(CHECK_CONCURRENCY, checks.length) }, () =>
    worker().catch((error: unknown) => {
      stop.abort();
      throw error;
    }),
  );
  const settled = await Promise.allSettled(workers);
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return results.filter((result) => result !== undefined);
}
