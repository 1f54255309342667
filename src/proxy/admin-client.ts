/**
 * The CLI's side of the release proxy's admin API (proxy/admin.ts): `node:http` over the 0600 unix
 * socket, one timeout per call, every answer validated before it is trusted.
 *
 * Failures: a socket that does not answer (missing, refused, timed out, cut off) or an answer that
 * is not what this version of the API sends → EnvironmentError (exit 3) saying what to do; weights
 * or a query the proxy rejects (400) → UsageError (exit 2) with the proxy's reason. `healthz()`
 * never throws: it is the readiness probe.
 */
import { request as httpRequest } from 'node:http';
import * as z from 'zod';
import { requestRecordShape } from '../release/recording/files.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { type RecordsPage, type RequestRecord, type RouteSplit, type RouteSplitPage, type Weights } from './types.js';

/** Per call, from sending the request to the end of the answer's body, ms. */
export const DEFAULT_ADMIN_TIMEOUT_MS = 5_000;
/** Largest answer read (a full records page is about 5 MB), bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const decimalNs = z.string().regex(/^\d+$/, 'a decimal ns string');
const weightsSchema = z.object({ canary: z.number().int(), baseline: z.number().int(), prod: z.number().int() });

const latencySchema = z.object({ count: z.number(), p50: z.number(), p95: z.number(), p99: z.number(), max: z.number(), mean: z.number() });
const armMetricsSchema = z.object({
  requests: z.number(),
  bad: z.number(),
  status4xx: z.number(),
  overrides: z.number(),
  upstreamErrors: z.object({ connect: z.number(), reset: z.number(), timeout: z.number() }),
  latencyUs: latencySchema,
});
const armsMetricsSchema = z.object({ canary: armMetricsSchema, baseline: armMetricsSchema, prod: armMetricsSchema });

const progressShape = { nowNs: decimalNs, watermarkNs: decimalNs, lastSeq: z.number().int().min(0) };
const ejectionSchema = z.object({ untilNs: decimalNs, windowMs: z.number().int(), failures: z.number().int().min(0), probing: z.boolean() }).nullable();

/** `GET /status`. Unknown fields are dropped, so a newer proxy still answers an older CLI. */
export const proxyAdminStatusSchema = z.object({
  weights: weightsSchema,
  step: z.number().int(),
  inFlight: z.number().int(),
  tunnels: z.number().int(),
  draining: z.boolean(),
  metrics: z.object({ total: armsMetricsSchema, steps: z.array(z.object({ step: z.number().int(), arms: armsMetricsSchema })) }),
  /** Passive health ejection per arm (null: admitted); absent from a proxy older than it. */
  ejected: z.object({ canary: ejectionSchema, baseline: ejectionSchema, prod: ejectionSchema }).optional(),
  ...progressShape,
});
export type ProxyAdminStatus = z.infer<typeof proxyAdminStatusSchema>;

/** One request record as the admin API sends it (the same fields as a `requests.jsonl.gz` line). */
export const requestRecordSchema = z.object(requestRecordShape) satisfies z.ZodType<RequestRecord>;

const recordsPageSchema = z.object({ records: z.array(requestRecordSchema), ...progressShape }) satisfies z.ZodType<RecordsPage>;
const recordsGoneSchema = z.object({ error: z.string(), oldestSeq: z.number().int().min(1) });
const splitCountsShape = { arms: z.object({ canary: z.number().int().min(0), baseline: z.number().int().min(0), prod: z.number().int().min(0) }), override: z.number().int().min(0) };
const routeSplitSchema = z.object({ routeKey: z.string(), ...splitCountsShape }) satisfies z.ZodType<RouteSplit>;
const routeSplitPageSchema = z.object({
  step: z.number().int().min(0),
  routes: z.array(routeSplitSchema),
  otherRoutes: z.object(splitCountsShape).nullable(),
}) satisfies z.ZodType<RouteSplitPage>;
const appliedWeightsSchema = z.object({ weights: weightsSchema, step: z.number().int().min(0), appliedNs: decimalNs });
const errorSchema = z.object({ error: z.string() });

export type { RecordsPage, RouteSplit, RouteSplitPage } from './types.js';
/** The records asked for left the proxy's memory: read `requests.jsonl.gz` for seq < `oldestSeq`. */
export interface RecordsGoneReply {
  gone: true;
  oldestSeq: number;
}
export interface AppliedWeightsReply {
  weights: Weights;
  step: number;
  /** The proxy's monotonic clock when the weights and step took effect, decimal ns. */
  appliedNs: string;
}

export interface AdminClient {
  /** True when the proxy answers `GET /healthz`; false (never a throw) when it does not. */
  healthz(): Promise<boolean>;
  status(): Promise<ProxyAdminStatus>;
  /** Records with seq > `after`, at most `limit` (the proxy's default 5000; at most 20 000). */
  records(after: number, limit?: number): Promise<RecordsPage | RecordsGoneReply>;
  /** Applies the weights and, when given, the step together. */
  setWeights(weights: Weights, step?: number): Promise<AppliedWeightsReply>;
  /** Records per route key and arm in one step (default: the step in force). */
  routes(step?: number): Promise<RouteSplitPage>;
}

export function createAdminClient(socketPath: string, options: { timeoutMs?: number } = {}): AdminClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
  const call = (method: string, path: string, body?: unknown) => sendRequest(socketPath, method, path, body, timeoutMs);

  const invalid = (what: string, detail: string): EnvironmentError =>
    new EnvironmentError(
      'PROXY_ADMIN_BAD_RESPONSE',
      `the release proxy's admin socket ${socketPath} gave an unexpected answer to ${what}: ${detail}`,
      'the proxy container may run an older envctl: restart the release proxy with this version',
    );
  const parse = <T>(what: string, schema: z.ZodType<T>, reply: Reply): T => {
    const parsed = schema.safeParse(reply.json);
    if (!parsed.success) throw invalid(what, `${reply.status} ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ')}`);
    return parsed.data;
  };
  const rejected = (what: string, reply: Reply): UsageError => {
    const reason = errorSchema.safeParse(reply.json);
    return new UsageError('PROXY_ADMIN_REJECTED', `the release proxy rejected ${what}: ${reason.success ? reason.data.error : JSON.stringify(reply.json)}`);
  };

  return {
    async healthz() {
      try {
        const reply = await call('GET', '/healthz');
        return reply.status === 200;
      } catch {
        return false;
      }
    },
    async status() {
      const reply = await call('GET', '/status');
      if (reply.status !== 200) throw invalid('GET /status', `status ${reply.status}`);
      return parse('GET /status', proxyAdminStatusSchema, reply);
    },
    async records(after, limit) {
      const query = new URLSearchParams({ after: String(after), ...(limit === undefined ? {} : { limit: String(limit) }) });
      const what = `GET /records?${query.toString()}`;
      const reply = await call('GET', `/records?${query.toString()}`);
      if (reply.status === 410) return { gone: true, oldestSeq: parse(what, recordsGoneSchema, reply).oldestSeq };
      if (reply.status === 400) throw rejected(what, reply);
      if (reply.status !== 200) throw invalid(what, `status ${reply.status}`);
      return parse(what, recordsPageSchema, reply);
    },
    async setWeights(weights, step) {
      const body = { canary: weights.canary, baseline: weights.baseline, prod: weights.prod, ...(step === undefined ? {} : { step }) };
      const what = `the weights ${JSON.stringify(body)}`;
      const reply = await call('PUT', '/weights', body);
      if (reply.status === 400) throw rejected(what, reply);
      if (reply.status !== 200) throw invalid('PUT /weights', `status ${reply.status}`);
      return parse('PUT /weights', appliedWeightsSchema, reply);
    },
    async routes(step) {
      const path = step === undefined ? '/routes' : `/routes?step=${step}`;
      const what = `GET ${path}`;
      const reply = await call('GET', path);
      if (reply.status === 400) throw rejected(what, reply);
      // A proxy from before GET /routes answers 404: `invalid` says to restart it with this version.
      if (reply.status !== 200) throw invalid(what, `status ${reply.status}`);
      return parse(what, routeSplitPageSchema, reply);
    },
  };
}

interface Reply {
  status: number;
  json: unknown;
}

/** One request; resolves with any HTTP answer whose body is JSON, rejects (EnvironmentError) otherwise. */
function sendRequest(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<Reply> {
  const unreachable = (reason: string, cause?: unknown): EnvironmentError =>
    new EnvironmentError(
      'PROXY_ADMIN_UNREACHABLE',
      `the release proxy's admin socket ${socketPath} does not answer (${method} ${path}: ${reason})`,
      'the proxy container may have stopped: find it with `docker ps -a`, read `docker logs <container>`, and start it again with `docker start <container>`',
      cause,
    );
  return new Promise<Reply>((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    let settled = false;
    const settle = (error: EnvironmentError | undefined, reply?: Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(reply!);
    };
    const request = httpRequest(
      {
        socketPath,
        method,
        path,
        agent: false,
        headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            request.destroy();
            settle(unreachable(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error) => settle(unreachable(error.message, error)));
        response.on('end', () => {
          if (!response.complete) return settle(unreachable('the answer was cut off'));
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return settle(unreachable(`status ${response.statusCode ?? 0} with a body that is not JSON`));
          }
          settle(undefined, { status: response.statusCode ?? 0, json });
        });
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      settle(unreachable(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => settle(unreachable(error.code ?? error.message, error)));
    request.end(text);
  });
}
