// What a job is and what the worker computes for it (pure).
import { createHash } from 'node:crypto';

export const MAX_DELAY_MS = 5000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class InvalidJob extends Error {
  constructor(message, id) {
    super(message);
    this.name = 'InvalidJob';
    this.id = id;
  }
}

/**
 * A raw list element -> { id, payload: { input, delayMs } }. Throws InvalidJob (with the id when
 * one could be read, so the job can be marked failed).
 */
export function parseJob(raw) {
  let job;
  try {
    job = JSON.parse(raw);
  } catch {
    throw new InvalidJob('job is not valid JSON');
  }
  if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new InvalidJob('job must be a JSON object');
  const id = typeof job.id === 'string' && UUID.test(job.id) ? job.id : undefined;
  if (!id) throw new InvalidJob("job needs an 'id' that is a UUID");
  const payload = job.payload;
  if (typeof payload !== 'object' || payload === null || typeof payload.input !== 'string') {
    throw new InvalidJob("job payload needs a string 'input'", id);
  }
  const delayMs = payload.delayMs ?? 0;
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new InvalidJob(`job delayMs must be an integer from 0 to ${MAX_DELAY_MS}`, id);
  }
  return { id, payload: { ...payload, input: payload.input, delayMs }, enqueuedAt: job.enqueuedAt };
}

/** The result the worker stores for a job's input. */
export function processJob({ input }) {
  const words = input.trim() === '' ? 0 : input.trim().split(/\s+/u).length;
  return {
    length: [...input].length,
    words,
    reversed: [...input].reverse().join(''),
    uppercase: input.toUpperCase(),
    sha256: createHash('sha256').update(input).digest('hex'),
  };
}

/** Capped exponential back-off: 100, 200, 400 ... 2000 ms. */
export const backoff = (attempt, base = 100, cap = 2000) => Math.min(base * 2 ** Math.max(0, attempt), cap);
