// Shared by the integration tests: where the running web service is, and a small JSON client.
// The pipeline's integration stage sets ENVCTL_URL_WEB to the web service's published address in
// the fresh environment it brought up; by hand: ENVCTL_URL_WEB=http://127.0.0.1:8080 after `envctl up`.
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

export const REQUEST_TIMEOUT_MS = 5000;

/** Why the tests cannot run (ENVCTL_URL_WEB missing or not an http(s) URL), or undefined. */
function urlProblem(raw) {
  if (!raw) {
    return (
      'ENVCTL_URL_WEB is not set: these tests need a running demo. Run them through `envctl pipeline` ' +
      '(its integration stage sets it), or after `envctl up` as ENVCTL_URL_WEB=http://127.0.0.1:8080 node --test ...'
    );
  }
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
  } catch {
    // not a URL: below
  }
  return `ENVCTL_URL_WEB must be an http(s) URL, got '${raw}'`;
}

const PROBLEM = urlProblem(process.env.ENVCTL_URL_WEB);
const BASE_URL = PROBLEM ? undefined : process.env.ENVCTL_URL_WEB.replace(/\/+$/, '');

/**
 * Call at the top of each test file: when ENVCTL_URL_WEB is unusable, registers one failing test
 * that says why, and returns the reason, for the file's suites to pass as `{ skip }`.
 */
export function requireWebUrl() {
  if (!PROBLEM) return false;
  test('ENVCTL_URL_WEB points at the web service under test', () => {
    const error = new Error(PROBLEM);
    error.stack = `Error: ${PROBLEM}`; // the reason is the whole story: no stack trace
    throw error;
  });
  return 'ENVCTL_URL_WEB is not usable';
}

/**
 * One request to the web service: `{ status, headers, json, text }`. `body` is sent as JSON,
 * `raw` as is (with a JSON content type). Never hangs: each request has REQUEST_TIMEOUT_MS.
 */
export async function api(method, path, { body, raw, headers = {} } = {}) {
  if (!BASE_URL) throw new Error(PROBLEM);
  const url = `${BASE_URL}${path}`;
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: payload,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error.cause?.code ?? error.cause?.message ?? error.message;
    throw new Error(`${method} ${url} failed: ${cause}`, { cause: error });
  }
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** Calls `probe` every `intervalMs` until it returns a truthy value or `timeoutMs` has passed (then throws `describe(last)`). */
export async function eventually(probe, { timeoutMs, intervalMs = 100, describe }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last.done) return last.value;
    if (Date.now() >= deadline) throw new Error(describe(last.value, timeoutMs));
    await delay(intervalMs);
  }
}

/** A name no other run or test has used (the database is shared by every test of a run). */
export const uniqueName = (what) => `${what} ${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
