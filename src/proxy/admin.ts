/**
 * The proxy's control API, on a unix socket only (reliability.md §3: never on the data port, like
 * Envoy's admin endpoint). The socket file is 0600, so only its owner can connect.
 *
 * - `GET /healthz` → 200 `{"ok":true}`
 * - `GET /status` → 200 with weights, step, in-flight count, per-arm metrics, and where the records
 *   stand: `nowNs` and `watermarkNs` (decimal ns of the proxy's monotonic clock; every request that
 *   arrived before `watermarkNs` has its record), `lastSeq` (0 before the first record) and
 *   `ejected` (per arm: null, or the passive-health ejection in force, see routing.ts).
 * - `GET /records?after=SEQ&limit=N` → 200 `{"records":[…],"nowNs","watermarkNs","lastSeq"}`: the
 *   records with seq > SEQ in seq order, at most N (default 5000, at most 20 000), from the ring of
 *   the latest records. 410 `{"error","oldestSeq"}` when some of them were dropped from the ring
 *   (read `requests.jsonl.gz` instead); 400 naming the parameter when the query is wrong.
 * - `GET /routes?step=N` → 200 `{"step","routes":[{"routeKey","arms":{"canary","baseline","prod"},"override"}],"otherRoutes"}`:
 *   records per route key in step N (default: the step in force), per arm the weights chose and
 *   override records apart, most records first; route keys beyond the strata cap are summed in
 *   `otherRoutes` (null when none). 400 naming the parameter when the query is wrong.
 * - `PUT /weights` with `{"canary":n,"baseline":n,"prod":n}` and optionally `"step":n` → 200
 *   `{"weights","step","appliedNs"}` (weights and step applied together at `appliedNs`), or 400 with
 *   the reason (weights: integers ≥ 0, exactly these three arms, sum 100; step: integer ≥ 0); 413
 *   beyond 4 KiB. The proxy process persists the change before it applies and answers it (500 and
 *   nothing changed when it cannot).
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { EnvironmentError } from '../errors.js';
import { validateWeights } from './routing.js';
import type { RecordsGone, RecordsPage, RouteSplitPage, Weights } from './types.js';

interface AppliedWeightsAnswer {
  weights: Weights;
  step: number;
  appliedNs: string;
}

/** What the admin API needs from the proxy. */
export interface AdminControl {
  /** JSON-serialisable. */
  status(): unknown;
  /**
   * Applies the weights and, when given, the step together; returns what is now in force and when
   * (decimal ns). Throws a RangeError naming the problem when either is invalid (nothing changed).
   * May answer with a promise (the proxy process persists the change first); the PUT is answered
   * when it settles, and a rejection is answered like a throw.
   */
  applyWeights(weights: Weights, step: number | undefined): AppliedWeightsAnswer | Promise<AppliedWeightsAnswer>;
  records(after: number, limit: number): RecordsPage | RecordsGone;
  /** The per-route split of a step; the step in force when `step` is undefined. */
  routes(step: number | undefined): RouteSplitPage;
}

/** `GET /records` page size when the query names none, and the most it may ask for. */
export const DEFAULT_RECORDS_LIMIT = 5000;
export const MAX_RECORDS_LIMIT = 20_000;

export interface AdminServer {
  readonly socketPath: string;
  /** Stops the API, closes its connections and removes the socket file. */
  close(): Promise<void>;
}

/** Largest accepted `PUT /weights` body, in bytes. */
const MAX_BODY_BYTES = 4096;
/** How long a stale-socket probe may take before the path is considered taken, ms. */
const PROBE_TIMEOUT_MS = 1000;

export async function startAdminServer(socketPath: string, control: AdminControl): Promise<AdminServer> {
  await removeStaleSocket(socketPath);
  const server = createServer({ headersTimeout: 5000, requestTimeout: 10_000, maxHeaderSize: 8192 }, (request, response) => {
    handle(request, response, control);
  });
  server.on('error', () => undefined);
  await listenPrivately(server, socketPath);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          unlink(socketPath).catch(() => undefined).finally(resolve);
        });
        server.closeAllConnections();
      }),
  };
}

function handle(request: IncomingMessage, response: ServerResponse, control: AdminControl): void {
  request.on('error', () => undefined);
  response.on('error', () => undefined);
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const route = `${request.method ?? ''} ${path}`;
  switch (route) {
    case 'GET /healthz':
      return sendJson(response, 200, { ok: true });
    case 'GET /status':
      return sendJson(response, 200, control.status());
    case 'GET /records':
      return getRecords(query, response, control);
    case 'GET /routes':
      return getRoutes(query, response, control);
    case 'PUT /weights':
      return void readBody(request).then(
        (body) => putWeights(body, response, control),
        (error: unknown) => sendJson(response, error instanceof BodyTooLargeError ? 413 : 400, { error: (error as Error).message }),
      );
    default: {
      const allowed = path === '/weights' ? 'PUT' : path === '/status' || path === '/healthz' || path === '/records' || path === '/routes' ? 'GET' : undefined;
      if (allowed) {
        response.setHeader('allow', allowed);
        return sendJson(response, 405, { error: `${request.method ?? ''} not allowed on ${path}; use ${allowed}` });
      }
      return sendJson(response, 404, { error: `no such endpoint: ${path} (GET /status, GET /healthz, GET /records, GET /routes, PUT /weights)` });
    }
  }
}

function putWeights(body: string, response: ServerResponse, control: AdminControl): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return sendJson(response, 400, { error: `body is not JSON: ${(error as Error).message}` });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return sendJson(response, 400, { error: 'body must be a JSON object {"canary":n,"baseline":n,"prod":n} with an optional "step":n' });
  }
  const { step, ...weights } = parsed as Record<string, unknown>;
  if (step !== undefined && (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)) {
    return sendJson(response, 400, { error: `invalid step: must be an integer ≥ 0, got ${JSON.stringify(step)}` });
  }
  // RangeError: the weights are invalid. Anything else (a bug, a change that could not be persisted)
  // is reported rather than thrown from a stream callback (it would become an unhandled rejection).
  const refuse = (error: unknown) => sendJson(response, error instanceof RangeError ? 400 : 500, { error: (error as Error).message });
  let applied: AppliedWeightsAnswer | Promise<AppliedWeightsAnswer>;
  try {
    applied = control.applyWeights(validateWeights(weights as unknown as Weights), step as number | undefined);
  } catch (error) {
    return refuse(error);
  }
  if (applied instanceof Promise) return void applied.then((value) => sendJson(response, 200, value), refuse);
  sendJson(response, 200, applied);
}

function getRecords(query: string, response: ServerResponse, control: AdminControl): void {
  const parsed = parseRecordsQuery(query);
  if ('error' in parsed) return sendJson(response, 400, { error: parsed.error });
  let page: ReturnType<AdminControl['records']>;
  try {
    page = control.records(parsed.after, parsed.limit);
  } catch (error) {
    return sendJson(response, 500, { error: (error as Error).message });
  }
  if ('gone' in page) {
    return sendJson(response, 410, {
      error: `records after seq ${parsed.after} are no longer in memory (the oldest held is ${page.oldestSeq}); read requests.jsonl.gz`,
      oldestSeq: page.oldestSeq,
    });
  }
  sendJson(response, 200, page);
}

function getRoutes(query: string, response: ServerResponse, control: AdminControl): void {
  const parsed = parseRoutesQuery(query);
  if ('error' in parsed) return sendJson(response, 400, { error: parsed.error });
  let page: RouteSplitPage;
  try {
    page = control.routes(parsed.step);
  } catch (error) {
    return sendJson(response, 500, { error: (error as Error).message });
  }
  sendJson(response, 200, page);
}

/** `step` (optional): a decimal integer, at most once, nothing else. */
export function parseRoutesQuery(query: string): { step: number | undefined } | { error: string } {
  const params = new URLSearchParams(query);
  for (const name of new Set(params.keys())) {
    if (name !== 'step') return { error: `unknown query parameter ${JSON.stringify(name)} (use step)` };
    if (params.getAll(name).length > 1) return { error: `query parameter ${name} given more than once` };
  }
  const step = params.get('step');
  if (step === null) return { step: undefined };
  const value = decimal(step);
  if (value === undefined) return { error: `query parameter step must be an integer ≥ 0, got ${JSON.stringify(step)}` };
  return { step: value };
}

/** `after` (required) and `limit` (optional): decimal integers, each at most once, nothing else. */
export function parseRecordsQuery(query: string): { after: number; limit: number } | { error: string } {
  const params = new URLSearchParams(query);
  for (const name of new Set(params.keys())) {
    if (name !== 'after' && name !== 'limit') return { error: `unknown query parameter ${JSON.stringify(name)} (use after and limit)` };
    if (params.getAll(name).length > 1) return { error: `query parameter ${name} given more than once` };
  }
  const after = params.get('after');
  if (after === null) return { error: 'query parameter after is required: the seq of the last record already read (0 for all)' };
  const afterValue = decimal(after);
  if (afterValue === undefined) return { error: `query parameter after must be an integer ≥ 0, got ${JSON.stringify(after)}` };
  const limit = params.get('limit');
  if (limit === null) return { after: afterValue, limit: DEFAULT_RECORDS_LIMIT };
  const limitValue = decimal(limit);
  if (limitValue === undefined || limitValue < 1 || limitValue > MAX_RECORDS_LIMIT) {
    return { error: `query parameter limit must be an integer from 1 to ${MAX_RECORDS_LIMIT}, got ${JSON.stringify(limit)}` };
  }
  return { after: afterValue, limit: limitValue };
}

function decimal(text: string): number | undefined {
  if (!/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

class BodyTooLargeError extends Error {}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLargeError(`body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/**
 * Binds with umask 0177 so the socket is created 0600 (no window in which others could connect),
 * then chmods it anyway: `process.umask` cannot be changed in worker threads.
 */
async function listenPrivately(server: Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new EnvironmentError('ADMIN_SOCKET_UNAVAILABLE', `cannot listen on the admin socket ${socketPath}: ${error.message}`, undefined, error)),
    );
    let previous: number | undefined;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = undefined;
    }
    try {
      // For a path, Node binds synchronously inside listen(), so the umask applies to the bind.
      server.listen(socketPath, () => resolve());
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
  await chmod(socketPath, 0o600);
}

/**
 * A socket file left by a crashed proxy is removed; one that still answers belongs to a running proxy
 * and is an error. Anything that is not a socket is never touched.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const stats = await lstat(socketPath).catch(() => undefined);
  if (!stats) return;
  if (!stats.isSocket()) {
    throw new EnvironmentError('ADMIN_SOCKET_UNAVAILABLE', `admin socket path ${socketPath} exists and is not a socket`, 'choose another path or remove the file');
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true);
    }, PROBE_TIMEOUT_MS);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (alive) {
    throw new EnvironmentError('ADMIN_SOCKET_IN_USE', `admin socket ${socketPath} is in use by another proxy`, 'stop the other proxy or choose another socket path');
  }
  await unlink(socketPath);
}
