// The consume loop, independent of the real clients (the unit tests pass fakes):
//   queue: { pop(seconds) -> raw string | null, pushBack(raw) }
//   store: { saveResult(job, result, worker), saveFailure(job, message, worker) }
// A Redis outage makes pop() throw: the loop backs off and tries again (the client reconnects).
// A PostgreSQL outage makes save*() throw: the job is kept and saving retried; when the worker is
// stopped meanwhile, the job goes back to the head of the list so no job is lost.
import { setTimeout as delay } from 'node:timers/promises';
import { isConnectionError } from './errors.js';
import { InvalidJob, backoff, parseJob, processJob } from './jobs.js';

export function createWorker({ queue, store, log, config, sleep = delay }) {
  let stopping = false;
  let busy = null; // the promise of the job being handled
  let wake = null; // aborts a back-off sleep on stop()
  const stats = { done: 0, failed: 0, requeued: 0 };

  const pause = async (ms) => {
    wake = new AbortController();
    try {
      await sleep(ms, undefined, { signal: wake.signal });
    } catch {
      // woken by stop()
    } finally {
      wake = null;
    }
  };

  /** Retry `save` while PostgreSQL is unreachable. false when stopped before it succeeded. */
  async function persist(what, save, job) {
    for (let attempt = 0; ; attempt++) {
      try {
        await save();
        if (attempt > 0) log.info('postgres reachable again, job saved', { jobId: job.id, attempts: attempt + 1 });
        return true;
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        if (stopping) return false;
        (attempt === 0 ? log.warn : log.debug)(`postgres unavailable, retrying ${what}`, { jobId: job.id, attempt, err: error.message });
        await pause(backoff(attempt));
        if (stopping) return false;
      }
    }
  }

  async function handle(raw) {
    const started = performance.now();
    let job;
    try {
      job = parseJob(raw);
    } catch (error) {
      if (!(error instanceof InvalidJob)) throw error;
      stats.failed++;
      log.error('invalid job', { err: error.message, jobId: error.id, raw: raw.slice(0, 200) });
      if (error.id) {
        const failed = { id: error.id, payload: { raw: raw.slice(0, 10_000) } };
        await persist('failure', () => store.saveFailure(failed, error.message, config.workerName), failed).catch(() => {});
      }
      return;
    }
    log.debug('job received', { jobId: job.id });
    if (job.payload.delayMs > 0) await pause(job.payload.delayMs);
    const result = processJob(job.payload);
    let saved;
    try {
      saved = await persist('result', () => store.saveResult(job, result, config.workerName), job);
    } catch (error) {
      stats.failed++;
      log.error('job failed', { jobId: job.id, err: error });
      await store.saveFailure(job, error.message, config.workerName).catch(() => {});
      return;
    }
    if (!saved) {
      await queue.pushBack(raw);
      stats.requeued++;
      log.warn('job put back on the queue (stopping before it could be saved)', { jobId: job.id });
      return;
    }
    stats.done++;
    const waitedMs = job.enqueuedAt ? Math.max(0, Date.now() - Date.parse(job.enqueuedAt)) : undefined;
    log.info('job done', { jobId: job.id, durationMs: Math.round((performance.now() - started) * 100) / 100, waitedMs });
  }

  async function run() {
    log.info('consuming jobs', { queue: config.queue, blockSeconds: config.blockSeconds });
    let failures = 0;
    while (!stopping) {
      let raw;
      try {
        raw = await queue.pop(config.blockSeconds);
        if (failures > 0) log.info('redis reachable again, consuming', { afterFailures: failures });
        failures = 0;
      } catch (error) {
        if (stopping) break;
        (failures === 0 ? log.warn : log.debug)('could not take a job from redis, retrying', { err: error.message, attempt: failures });
        await pause(backoff(failures++));
        continue;
      }
      if (raw === null || raw === undefined) continue;
      busy = handle(raw).catch((error) => log.error('job handling crashed', { err: error }));
      await busy;
      busy = null;
    }
  }

  return {
    run,
    stats,
    get stopping() {
      return stopping;
    },
    /** Stop taking jobs; resolves when the current job (if any) is finished or put back. */
    async stop() {
      stopping = true;
      wake?.abort();
      await busy;
    },
  };
}
