// Input validation for the JSON API (pure).
export const MAX_NAME_LENGTH = 200;
export const MAX_JOB_INPUT_LENGTH = 10_000;
export const MAX_JOB_DELAY_MS = 5_000;

export class BadRequest extends Error {
  constructor(message, status = 400) {
    super(message);
    this.name = 'BadRequest';
    this.status = status;
  }
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parse a request body as a JSON object; empty or non-object bodies are 400s. */
export function parseJsonObject(text) {
  if (text.trim() === '') throw new BadRequest('request body must be a JSON object');
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('request body is not valid JSON');
  }
  if (!isObject(value)) throw new BadRequest('request body must be a JSON object');
  return value;
}

/** `{ name }` for POST /api/items -> the trimmed name. */
export function validateItem(body) {
  if (!isObject(body)) throw new BadRequest('request body must be a JSON object');
  const { name } = body;
  if (typeof name !== 'string') throw new BadRequest("'name' is required and must be a string");
  const trimmed = name.trim();
  if (trimmed === '') throw new BadRequest("'name' must not be empty");
  if (trimmed.length > MAX_NAME_LENGTH) throw new BadRequest(`'name' must be at most ${MAX_NAME_LENGTH} characters`);
  return { name: trimmed };
}

/** `{ input, delayMs? }` for POST /api/jobs -> the job payload the worker gets. */
export function validateJob(body) {
  if (!isObject(body)) throw new BadRequest('request body must be a JSON object');
  const { input, delayMs = 0 } = body;
  if (typeof input !== 'string' || input.length === 0) throw new BadRequest("'input' is required and must be a non-empty string");
  if (input.length > MAX_JOB_INPUT_LENGTH) throw new BadRequest(`'input' must be at most ${MAX_JOB_INPUT_LENGTH} characters`);
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_JOB_DELAY_MS) {
    throw new BadRequest(`'delayMs' must be an integer from 0 to ${MAX_JOB_DELAY_MS}`);
  }
  return { input, delayMs };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value) => UUID.test(value);

/** `?limit=` for GET /api/items: 1..500, default 100. */
export function parseLimit(value, fallback = 100) {
  if (value === null || value === undefined || value === '') return fallback;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequest("'limit' must be an integer from 1 to 500");
  return limit;
}
