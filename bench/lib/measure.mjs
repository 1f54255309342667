/**
 * Timing commands and summarising samples. A sample is the wall-clock time (ms) from spawning the
 * command to its exit, plus whatever `until` waits for afterwards (e.g. "every container healthy"),
 * so both tools are measured to the same end state.
 */
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';

/** Output lines kept for an error message when a measured command fails. */
const FAILURE_TAIL_LINES = 20;

/**
 * Runs `file args` and returns `{ ms, stdout, output }` (its duration, its stdout, and stdout and
 * stderr interleaved). Rejects when it exits non-zero (naming the command and the last lines of
 * its output), times out (`timeoutMs`) or `signal` aborts.
 */
export async function timeCommand(file, args, { env, cwd, signal, timeoutMs = 180_000, until } = {}) {
  const started = performance.now();
  const result = await execa(file, args, {
    env,
    cwd,
    cancelSignal: signal,
    timeout: timeoutMs,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  if (result.failed) {
    const tail = (result.all ?? '').split('\n').slice(-FAILURE_TAIL_LINES).join('\n');
    const why = result.isCanceled ? 'cancelled' : result.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${result.exitCode ?? result.signal}`;
    throw new Error(`\`${[file, ...args].join(' ')}\` failed (${why})${tail ? `:\n${tail}` : ''}`);
  }
  if (until) await until();
  return { ms: Math.round(performance.now() - started), stdout: result.stdout, output: result.all ?? '' };
}

/** Median, min and max (ms) of the samples; the median of an even count is the mean of the middle two. */
export function summarise(samples) {
  if (samples.length === 0) return { samples: [], median: null, min: null, max: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
  return { samples, median, min: sorted[0], max: sorted.at(-1) };
}

/** envctl / peer, to two decimals; below 1 means envctl is faster. */
export function ratio(envctlMedian, peerMedian) {
  if (envctlMedian == null || peerMedian == null || peerMedian === 0) return null;
  return Math.round((envctlMedian / peerMedian) * 100) / 100;
}

/**
 * Collects samples (ms) per measurement and tool. Warm-up samples and excluded ones (a run that did
 * not do the work the measurement is about, e.g. a "no-change" `up` that rebuilt because someone
 * edited a build context meanwhile) are kept apart: reported, never in the statistics.
 */
export class SampleBook {
  #samples = new Map();
  #warmup = new Map();
  #excluded = new Map();
  #internal = new Map();

  /**
   * `excluded`: why this sample does not count (undefined: it counts). `internalMs`: the time the
   * tool itself reports for the work (envctl's result `durationMs`), for counted samples.
   */
  add(measurement, tool, ms, { warmup = false, excluded, internalMs } = {}) {
    const key = `${measurement}\u0000${tool}`;
    if (excluded) {
      if (!this.#excluded.has(key)) this.#excluded.set(key, []);
      this.#excluded.get(key).push({ ms, warmup, reason: excluded });
      return;
    }
    const book = warmup ? this.#warmup : this.#samples;
    if (!book.has(key)) book.set(key, []);
    book.get(key).push(ms);
    if (!warmup && internalMs !== undefined) {
      if (!this.#internal.has(key)) this.#internal.set(key, []);
      this.#internal.get(key).push(internalMs);
    }
  }

  /** One side of a measurement, as the report wants it. */
  side(measurement, tool) {
    const key = `${measurement}\u0000${tool}`;
    const side = { tool, warmup: this.#warmup.get(key) ?? [], samples: this.#samples.get(key) ?? [], excluded: this.#excluded.get(key) ?? [] };
    return this.#internal.has(key) ? { ...side, internalMs: this.#internal.get(key) } : side;
  }
}
