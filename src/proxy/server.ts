/**
 * The weighted reverse proxy of the release stage (canary.md §3.1-3.2, reliability.md rows 19-28).
 * `node:http` serves the clients; upstream requests go through one undici `Pool` per arm (keep-alive,
 * `dispatch` with a handler that writes straight into the client's response), which costs about a
 * third less CPU per request than `http.request` with an Agent (issue 9's proxy target). No proxy
 * library (the unmaintained http-proxy leaked sockets and crashed on peer errors). Upgrade
 * (WebSocket) requests still use `http.request`, on a connection of their own.
 *
 * Per request: read the route key and any override, ask the Router for an arm, forward over that
 * arm's keep-alive pool with bodies streamed both ways, and append one RequestRecord. The arm is
 * fixed when the request arrives, so a weight change only affects later requests.
 *
 * Failure rules:
 * - Nothing has been sent upstream until the connection is established (undici writes the request,
 *   body included, only on a connected socket: its `onConnect`).
 *   A connect failure of GET/HEAD/OPTIONS is retried once on another arm with weight > 0 (one that is
 *   not ejected, if there is one); everything else answers 502. Never a retry once connected (the
 *   upstream may have acted on the request).
 * - Passive health ejection (proxy/routing.ts `createArmHealth`): `consecutiveFailures` connect
 *   failures in a row eject an arm for `ejectionMs`; meanwhile the requests the weights give it go to
 *   the first healthy of prod, baseline, canary (prod always, the others only with weight > 0),
 *   recorded as overrides with the arm that served them. After the window one request probes the arm:
 *   a connection re-admits it, a failure ejects it again for twice as long (≤ `maxEjectionMs`). Pinned
 *   requests stay pinned. With every usable arm ejected, requests go where the weights say.
 * - One deadline per request (`upstreamTimeout`, retry included) up to the response headers → 504.
 *   After the headers, `upstreamIdleTimeout` without a byte from the upstream (while the client
 *   keeps up: undici's body timeout does not run while the client's backpressure pauses it) cuts the
 *   response.
 * - A client that goes away destroys the upstream request; an upstream that goes away mid-body
 *   destroys the client response (a truncated body is never passed off as complete).
 * - Request parsing is Node's strict llhttp (never `insecureHTTPParser`), plus: at most
 *   `maxHeaderCount` header fields (431), and `Transfer-Encoding` must be exactly `chunked` (400).
 *   Framing headers are regenerated upstream, never copied, so a request cannot be re-framed.
 */
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { EnvironmentError } from '../errors.js';
import { startAdminServer, type AdminServer } from './admin.js';
import { createProxyMetrics, STATUS_CLIENT_CLOSED, STATUS_SWITCHING_PROTOCOLS, type MetricsSnapshot } from './metrics.js';
import { LinkedList, type Link } from './linked-list.js';
import { createRecordRing, DEFAULT_RECORD_RING } from './record-ring.js';
import { parseTargetOverride, routeKeyOf, TARGET_HEADER } from './route-key.js';
import { createArmHealth, createRouteSplitCounter, validateWeights, type ArmHealth, type EjectionOptions, type HealthChoice } from './routing.js';
import { ARMS, type Arm, type ArmEjection, type RecordProgress, type RecordsGone, type RecordsPage, type RequestRecord, type Router, type RouteSplitPage, type UpstreamError, type Weights } from './types.js';

export interface Upstream {
  host: string;
  port: number;
}

/** Timeouts in ms, sizes in bytes. */
export interface ProxyLimits {
  /** Client must send the complete request headers within this (slowloris) → 408 and close. */
  headersTimeout: number;
  /** Client must send the complete request, body included, within this → 408. ≥ headersTimeout. */
  requestTimeout: number;
  /** Idle client keep-alive connections are closed after this. */
  keepAliveTimeout: number;
  /** From the request's arrival to the upstream's response headers, retry included → 504. */
  upstreamTimeout: number;
  /** Once the response has started: no bytes from the upstream for this long cuts it (0: never). */
  upstreamIdleTimeout: number;
  /**
   * Idle upstream keep-alive sockets are closed after this. Keep it below the backends' own
   * keep-alive timeout (Node's default is 5 s), or a request can race the backend's close.
   */
  upstreamFreeSocketTimeout: number;
  /** `close()` lets in-flight requests and tunnels run this long, then cuts them. */
  drainTimeout: number;
  /** Request line + headers → 431 beyond. */
  maxHeaderSize: number;
  /** Header fields per request → 431 beyond. */
  maxHeaderCount: number;
}

export const DEFAULT_PROXY_LIMITS: Readonly<ProxyLimits> = Object.freeze({
  headersTimeout: 10_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 5_000,
  upstreamTimeout: 10_000,
  upstreamIdleTimeout: 60_000,
  upstreamFreeSocketTimeout: 4_000,
  drainTimeout: 10_000,
  maxHeaderSize: 16_384,
  maxHeaderCount: 100,
});

export interface ProxyOptions extends Partial<ProxyLimits> {
  upstreams: Readonly<Record<Arm, Upstream>>;
  router: Router;
  /** Data-port address; default 127.0.0.1 (reliability.md §3) and an ephemeral port. */
  host?: string;
  port?: number;
  /** Step number written into every record; change with `setStep`. Default 0. */
  step?: number;
  /** Called once per finished request, synchronously; exceptions go to `onError`. */
  record?: (record: RequestRecord) => void;
  /** How many of the latest records `records()` (admin `GET /records`) can serve. Default 200 000. */
  recordRing?: number;
  /** Admin API unix socket (0600); none when omitted. */
  adminSocketPath?: string;
  /** Cookie whose value is the sticky client key when the router is sticky. Default `envctl_client`. */
  stickyCookie?: string;
  /** Problems that are not a request's: a record callback that threw, a server error. */
  onError?: (error: Error) => void;
  /**
   * The monotonic clock (ns) behind `tMonoNs`, `nowNs`, `watermarkNs` and `appliedNs`. Default
   * `process.hrtime.bigint`; a restarted proxy passes one that continues after its earlier records.
   */
  clock?: () => bigint;
  /**
   * seq of the last record an earlier run of this proxy wrote: records continue after it. Those
   * earlier records are not in memory, so `records()` answers `gone` for them. Default 0.
   */
  lastSeq?: number;
  /**
   * Makes a weight change durable. The admin API's `PUT /weights` calls it with the validated
   * weights and step about to apply, applies them only once it resolved (so an answered PUT is
   * durable), and answers 500 with nothing changed when it rejects. PUTs run one at a time.
   * `applyWeights` of the handle does not call it.
   */
  persistWeights?: (next: { weights: Weights; step: number }) => Promise<void>;
  /**
   * Passive health ejection: defaults `DEFAULT_EJECTION` of proxy/routing.ts (3 consecutive connect
   * failures, 5 s, doubling up to 30 s). Windows are measured on `clock`.
   */
  ejection?: Partial<EjectionOptions>;
}

export interface ProxyStatus extends RecordProgress {
  weights: Weights;
  step: number;
  /** HTTP requests between arrival and their record. */
  inFlight: number;
  /** Open upgrade (WebSocket) tunnels. */
  tunnels: number;
  draining: boolean;
  metrics: MetricsSnapshot;
  /** Per arm: its ejection (passive health), null when it takes its weighted traffic. */
  ejected: Record<Arm, ArmEjection | null>;
}

/** What {@link ProxyHandle.applyWeights} did. */
export interface AppliedWeights {
  weights: Weights;
  step: number;
  /** The proxy's clock (`process.hrtime.bigint()` by default) at the moment of application, decimal ns: requests that arrive later use these weights and this step. */
  appliedNs: string;
}

export interface ProxyHandle {
  readonly host: string;
  readonly port: number;
  readonly adminSocketPath: string | undefined;
  /** Validated (RangeError); applies to requests that arrive afterwards. */
  setWeights(weights: Weights): void;
  weights(): Weights;
  setStep(step: number): void;
  /**
   * Weights and, when given, the step, switched together (validated first: RangeError, nothing
   * changed): requests that arrive afterwards get both.
   */
  applyWeights(weights: Weights, step?: number): AppliedWeights;
  status(): ProxyStatus;
  /**
   * Records with seq > `after`, in seq order, at most `limit`, from the ring of the latest ones,
   * with the progress at the same instant; `gone` when some of them have left the ring.
   */
  records(after: number, limit: number): RecordsPage | RecordsGone;
  /** Records per route key and arm in one step (default: the step in force now). */
  routes(step?: number): RouteSplitPage;
  /**
   * Drains: stops accepting, lets in-flight requests and tunnels finish for up to `drainTimeout`,
   * then destroys what is left. Resolves when every socket is closed. Idempotent.
   */
  close(): Promise<void>;
}

export const DEFAULT_STICKY_COOKIE = 'envctl_client';

/** Methods that are safe to send twice (RFC 9110 §9.2.2), minus PUT/DELETE, which change state. */
const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** When weights tie, a retry prefers the arm running the current, warm image. */
const RETRY_PREFERENCE: readonly Arm[] = ['prod', 'baseline', 'canary'];

/** RFC 9110 §7.6.1 plus the non-standard ones still seen in the wild. `proxy-*` is matched by prefix. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Regenerated by the proxy (or, for Expect, already handled by Node), so never copied from the client. */
const REGENERATED_REQUEST_HEADERS: ReadonlySet<string> = new Set(['content-length', 'x-forwarded-for', 'x-forwarded-proto', 'expect']);

export const ARM_RESPONSE_HEADER = 'X-Envctl-Arm';
/** A tunnel's far side gets this long to finish after the near side closed, ms. */
const TUNNEL_CLOSE_GRACE_MS = 1000;

const noop = (): void => undefined;

/** The socket property holding a client connection's open exchanges (see `watchConnection`). */
const OPEN_EXCHANGES = Symbol('envctl.openExchanges');
type WatchedSocket = Duplex & { [OPEN_EXCHANGES]?: LinkedList<OpenExchange> };
/** What a connection's close does to each of its open exchanges. */
interface OpenExchange {
  connectionClosed(): void;
}

export async function startProxy(options: ProxyOptions): Promise<ProxyHandle> {
  const limits: ProxyLimits = { ...DEFAULT_PROXY_LIMITS, ...definedLimits(options) };
  if (limits.requestTimeout > 0 && limits.headersTimeout > limits.requestTimeout) {
    throw new RangeError(`headersTimeout (${limits.headersTimeout} ms) must not exceed requestTimeout (${limits.requestTimeout} ms)`);
  }
  const host = options.host ?? '127.0.0.1';
  const { router, upstreams } = options;
  const stickyCookie = options.stickyCookie ?? DEFAULT_STICKY_COOKIE;
  const reportError = (error: Error): void => {
    try {
      options.onError?.(error);
    } catch {
      // The error sink itself failed; nothing sensible is left to tell.
    }
  };
  const metrics = createProxyMetrics();
  const routeSplit = createRouteSplitCounter();
  const pools = Object.fromEntries(ARMS.map((arm) => [arm, upstreamPool(upstreams[arm], limits)])) as Record<Arm, Pool>;

  const clock = options.clock ?? process.hrtime.bigint;
  const health = createArmHealth(options.ejection ?? {}, clock);
  let step = options.step ?? 0;
  const resumedSeq = options.lastSeq ?? 0;
  let seq = resumedSeq;
  let inFlight = 0;
  const ring = createRecordRing(options.recordRing ?? DEFAULT_RECORD_RING);
  /**
   * Arrival time of every open request and tunnel, in arrival order (arrivals are taken and
   * appended in one synchronous run): the first is the oldest. A linked list, not a Map: see
   * proxy/linked-list.ts.
   */
  const open = new LinkedList<bigint>();
  let draining = false;
  /** Open upgrade tunnels: client socket → upstream socket (once the upstream accepted). */
  const tunnels = new Map<Duplex, Duplex | undefined>();
  let tunnelsDrained: (() => void) | undefined;

  const emit = (full: RequestRecord): void => {
    ring.push(full);
    metrics.observe(full);
    routeSplit.observe(full);
    try {
      options.record?.(full);
    } catch (error) {
      reportError(error as Error);
    }
  };

  /**
   * Requests waiting for their upstream's response headers, checked against `upstreamTimeout` by one
   * coarse timer instead of a timer per request. They share the timeout, so arrival (insertion)
   * order is expiry order: a sweep stops at the first one not yet due. A 504 comes between
   * `upstreamTimeout` and `upstreamTimeout` + one tick (≤ 100 ms, ≤ a tenth of the timeout).
   */
  const awaitingHeaders = new LinkedList<Exchange>();
  const deadlineTickMs = Math.max(1, Math.min(100, Math.floor(limits.upstreamTimeout / 10)));
  const deadlineSweep = setInterval(() => {
    if (awaitingHeaders.size === 0) return;
    const nowMs = performance.now();
    for (let due = awaitingHeaders.first(); due !== undefined && due.value.dueMs <= nowMs; due = awaitingHeaders.first()) {
      awaitingHeaders.remove(due);
      due.value.onDeadline();
    }
  }, deadlineTickMs).unref();

  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      // Node enforces headersTimeout/requestTimeout on this tick (default 30 s): a quarter of the
      // headers timeout closes a slowloris socket within 1.25 × headersTimeout.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeout / 4))),
      requireHostHeader: true,
    },
    (request, response) => onRequest(request, response),
  );
  // Node keeps at most this many header fields (and silently drops the rest); one more than the
  // limit is enough to see that it was exceeded.
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(request, socket, head));
  server.on('error', reportError);

  /**
   * The open exchanges of each client connection, ended together when it closes: one 'close'
   * listener per connection, not one per request. This is how an exchange learns that its client
   * went away, the one being answered and any pipelined behind it alike: every way a client
   * connection ends (the client's close, Node's timeouts, the proxy's own destroy) closes its socket.
   */
  function watchConnection(socket: WatchedSocket, exchange: OpenExchange): Link<OpenExchange> {
    let exchanges = socket[OPEN_EXCHANGES];
    if (exchanges === undefined) {
      const list = new LinkedList<OpenExchange>();
      exchanges = list;
      socket[OPEN_EXCHANGES] = list;
      socket.once('close', () => {
        for (const open of list.toArray()) open.connectionClosed();
      });
    }
    return exchanges.push(exchange);
  }
  function unwatchConnection(socket: WatchedSocket, link: Link<OpenExchange>): void {
    socket[OPEN_EXCHANGES]?.remove(link);
  }

  function onRequest(request: IncomingMessage, response: ServerResponse): void {
    const startNs = clock();
    request.on('error', noop);
    response.on('error', noop);
    if (draining) response.shouldKeepAlive = false;
    const rejection = rejectionOf(request, limits.maxHeaderCount);
    if (rejection) {
      sendProxyError(response, rejection.status, rejection.message, undefined);
      return;
    }
    const method = request.method ?? 'GET';
    const path = originFormPath(request.url ?? '/');
    if (path === undefined) {
      sendProxyError(response, 400, 'invalid request target', undefined);
      return;
    }
    const routeKey = routeKeyOf(method, path);
    const decision = router.route({
      routeKey,
      override: parseTargetOverride(request.headers[TARGET_HEADER], request.headers.cookie),
      stickyKey: cookieValue(request.headers.cookie, stickyCookie),
    });
    const choice = decision.override ? undefined : health.choose(decision.arm, router.weights());
    const headers = forwardRequestHeaders(request, false);
    inFlight += 1;
    const exchange = new Exchange(request, response, { startNs, step, method, path, routeKey, headers, pinned: decision.override, choice });
    exchange.attempt(choice?.arm ?? decision.arm, decision.override || choice?.rerouted === true, false);
  }

  /**
   * One upstream attempt of an exchange: the undici handler (its legacy callbacks, which undici calls
   * without wrapping). A retry is a new attempt, so callbacks of a superseded one are recognised and
   * ignored. undici calls `onConnect` right before it writes the request on a connected socket (new
   * or pooled): until then nothing was sent, which is what tells a connect failure from a reset.
   */
  class Attempt implements Dispatcher.DispatchHandler {
    /** undici's abort of this request, once connected. */
    abortUpstream: ((error?: Error) => void) | undefined;
    /** The exchange gave this attempt up (client gone, deadline, retry) before it connected. */
    cancelled = false;
    private resumeUpstream: (() => void) | undefined;

    constructor(
      private readonly exchange: Exchange,
      readonly arm: Arm,
      readonly isRetry: boolean,
    ) {}

    /** Stops the upstream request now, or as soon as undici hands it a socket. */
    cancel(): void {
      this.cancelled = true;
      this.abortUpstream?.();
    }

    onConnect(abort: (error?: Error) => void): void {
      this.abortUpstream = abort;
      health.connected(this.arm);
      if (this.cancelled) abort();
    }

    onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
      this.resumeUpstream = resume;
      if (this.cancelled) return false;
      return this.exchange.onResponseHeaders(this, statusCode, rawHeaders, statusText);
    }

    onData(chunk: Buffer): boolean {
      if (this.cancelled) return false;
      return this.exchange.onResponseData(chunk, this.resumeUpstream!);
    }

    onComplete(): void {
      if (!this.cancelled) this.exchange.onResponseComplete();
    }

    onError(error: Error): void {
      if (this.cancelled) return;
      const connected = this.abortUpstream !== undefined;
      this.cancelled = true;
      this.exchange.onAttemptError(this, error, connected);
    }
  }

  /** One client request, over its one or two upstream attempts. */
  class Exchange {
    private finished = false;
    private arm: Arm = 'prod';
    private override = false;
    private current: Attempt | undefined;
    /** The request body as undici reads it: a pipe from the client's request, so undici destroying it never destroys the client's connection. */
    private body: PassThrough | undefined;
    private status = 0;
    private ttfbNs: bigint | undefined;
    private bytesOut = 0;
    /**
     * `performance.now()` at which the upstream deadline (`upstreamTimeout`) passes: from arrival,
     * and again from each chunk of a request body while the client is still sending it (an upload
     * that takes longer than the timeout but keeps moving is not the upstream's delay).
     */
    dueMs: number;
    /** Its place in `awaitingHeaders` (until the response headers) and in `open` (until its record). */
    private awaiting: Link<Exchange> | undefined;
    private readonly openLink: Link<bigint>;
    /** Its place among its connection's open exchanges (see `watchConnection`). */
    private readonly connectionLink: Link<OpenExchange>;

    constructor(
      private readonly request: IncomingMessage,
      private readonly response: ServerResponse,
      /**
       * `step` is the one in force at arrival, like the arm: a step change only affects later requests.
       * `pinned`: the client chose the arm (never moved); `choice`: the health choice of a weighted request.
       */
      private readonly meta: {
        startNs: bigint;
        step: number;
        method: string;
        path: string;
        routeKey: string;
        headers: ForwardedRequestHeaders;
        pinned: boolean;
        choice: HealthChoice | undefined;
      },
    ) {
      this.dueMs = performance.now() + limits.upstreamTimeout;
      // The client going away ends the exchange (else a pipelined one stays in flight and holds the
      // judge's watermark for the rest of the release).
      this.connectionLink = watchConnection(request.socket, this);
      // Without Content-Length or Transfer-Encoding an HTTP/1.1 request has no body (RFC 9112 §6.3).
      const { headers } = request;
      if (headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')) {
        request.resume();
      } else {
        this.body = new PassThrough();
        this.body.on('error', noop);
        request.pipe(this.body);
        request.on('data', () => this.uploadProgressed());
      }
      // Last, once nothing above can throw: a link left behind would hold the watermark for good.
      this.awaiting = awaitingHeaders.push(this);
      this.openLink = open.push(meta.startNs);
    }

    /** A body chunk arrived: the deadline counts from now (moved to the end of the sweep's order). */
    private uploadProgressed(): void {
      if (this.finished || this.ttfbNs !== undefined) return;
      awaitingHeaders.remove(this.awaiting);
      this.dueMs = performance.now() + limits.upstreamTimeout;
      this.awaiting = awaitingHeaders.push(this);
    }

    /** The client's connection closed (see `watchConnection`): before the whole response was handed to the kernel, the client went away. */
    connectionClosed(): void {
      if (!this.response.writableFinished) this.abandon();
    }

    attempt(arm: Arm, override: boolean, isRetry: boolean): void {
      this.arm = arm;
      this.override = override;
      const attempt = new Attempt(this, arm, isRetry);
      this.current = attempt;
      // undici may call back synchronously (a pooled socket: onConnect; a refused option: onError).
      pools[arm].dispatch(
        { method: this.meta.method, path: this.meta.path, headers: withHost(this.meta.headers, upstreams[arm]), body: this.body ?? null },
        attempt,
      );
    }

    /** The attempt failed before the response headers, or the response broke off after them. */
    onAttemptError(attempt: Attempt, error: Error, connected: boolean): void {
      if (this.finished || this.current !== attempt) return;
      if (this.ttfbNs !== undefined) {
        // After the headers: never let a truncated body look complete, cut the client connection too.
        this.response.destroy();
        this.finish(this.status, (error as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'reset');
        return;
      }
      const code = (error as { code?: string }).code;
      if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
        // undici refused to build the request (a header or target its client rejects): the client's fault.
        this.replyWithError(400, `cannot forward request: ${error.message}`, 'none');
        return;
      }
      if (connected) {
        this.replyWithError(502, 'upstream closed the connection before responding', 'reset');
        return;
      }
      if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
        // The proxy's own pool is shutting down: not the arm's failure.
        this.replyWithError(502, 'upstream connection failed', 'connect');
        return;
      }
      // Only a failure the proxy did not cause counts against the arm: after the deadline or the
      // client's close the attempt was cancelled and does not get here.
      health.connectFailed(attempt.arm);
      this.onConnectFailure(attempt.isRetry);
    }

    /** Nothing was sent: retry once elsewhere if the method allows, else 502. */
    private onConnectFailure(isRetry: boolean): void {
      const retryArm =
        !isRetry && !this.meta.pinned && RETRYABLE_METHODS.has(this.meta.method) ? chooseRetryArm(this.arm, router.weights(), health) : undefined;
      if (retryArm === undefined) {
        this.replyWithError(502, 'upstream connection failed', 'connect');
        return;
      }
      // The failed attempt is the first arm's bad event; the retry was not randomised, so its record
      // is marked like an override and stays out of the statistics.
      this.emitRecord(502, 'connect', 0, 0);
      this.attempt(retryArm, true, true);
    }

    /** Returns whether undici may go on reading (false: it paused, or the attempt was aborted). */
    onResponseHeaders(attempt: Attempt, status: number, rawHeaders: Buffer[], statusText: string): boolean {
      if (this.finished || this.current !== attempt) {
        attempt.cancel();
        return false;
      }
      // An informational answer (103 Early Hints, …): the final one follows on the same request.
      // Not relayed, as node:http's client did not relay them either (undici treats a 100 the proxy
      // never asked for, `Expect` being dropped, as a broken response: 502).
      if (status < 200) return true;
      this.ttfbNs = clock();
      this.status = status;
      awaitingHeaders.remove(this.awaiting);
      const { response } = this;
      if (draining) response.shouldKeepAlive = false;
      const { headers, hasDate } = forwardResponseHeaders(rawHeaders);
      headers.push(ARM_RESPONSE_HEADER, this.arm);
      // The upstream's Date is forwarded; Node would add a second one.
      response.sendDate = !hasDate;
      try {
        response.writeHead(status, statusText || undefined, headers);
      } catch (error) {
        attempt.cancel();
        this.replyWithError(502, `invalid upstream response: ${(error as Error).message}`, 'reset');
        return false;
      }
      response.once('finish', () => this.finish(status, 'none'));
      return true;
    }

    /** Relayed by hand: the byte count and the write in one place, backpressure through undici's pause. */
    onResponseData(chunk: Buffer, resume: () => void): boolean {
      this.bytesOut += chunk.length;
      if (this.response.write(chunk)) return true;
      this.response.once('drain', resume);
      return false;
    }

    onResponseComplete(): void {
      if (!this.finished) this.response.end();
    }

    /** The upstream deadline passed (the sweep). */
    onDeadline(): void {
      if (this.finished || this.ttfbNs !== undefined) return;
      this.current?.cancel();
      this.replyWithError(504, `upstream did not respond within ${limits.upstreamTimeout} ms`, 'timeout');
    }

    /** The client closed its connection before the response was complete. */
    private abandon(): void {
      if (this.finished) return;
      this.current?.cancel();
      this.finish(STATUS_CLIENT_CLOSED, 'none');
    }

    private replyWithError(status: number, message: string, upstreamError: UpstreamError): void {
      if (this.finished) return;
      if (this.body) this.request.unpipe(this.body);
      this.bytesOut = sendProxyError(this.response, status, message, this.arm);
      this.finish(status, upstreamError);
    }

    private finish(status: number, upstreamError: UpstreamError): void {
      if (this.finished) return;
      this.finished = true;
      awaitingHeaders.remove(this.awaiting);
      unwatchConnection(this.request.socket, this.connectionLink);
      if (this.body && !this.request.complete) {
        // Answered before the whole upload arrived (413, 401, …; undici then drops its side): the
        // rest is read and dropped, so a client that sends its whole body before reading gets the
        // answer instead of a stalled connection.
        this.request.unpipe(this.body);
        this.request.resume();
      }
      inFlight -= 1;
      this.emitRecord(status, upstreamError, this.ttfbNs === undefined ? 0 : nsToUs(this.ttfbNs - this.meta.startNs), this.bytesOut);
      if (this.meta.choice) health.settled(this.meta.choice);
      open.remove(this.openLink);
      if (draining) closeIdleSoon();
    }

    /** One record, built in one literal (the key order is the records' JSON order). */
    private emitRecord(status: number, upstreamError: UpstreamError, ttfbUs: number, bytesOut: number): void {
      seq += 1;
      emit({
        seq,
        tMonoNs: this.meta.startNs.toString(),
        step: this.meta.step,
        arm: this.arm,
        routeKey: this.meta.routeKey,
        method: this.meta.method,
        totalUs: nsToUs(clock() - this.meta.startNs),
        override: this.override,
        status,
        upstreamError,
        ttfbUs,
        bytesOut,
        mirrored: false,
      });
    }
  }

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const startNs = clock();
    const requestStep = step;
    socket.on('error', noop);
    request.on('error', noop);
    if (draining) return void writeRawResponse(socket, 503, 'proxy is shutting down', undefined);
    const rejection = rejectionOf(request, limits.maxHeaderCount);
    if (rejection) return void writeRawResponse(socket, rejection.status, rejection.message, undefined);
    const method = request.method ?? 'GET';
    const path = originFormPath(request.url ?? '/');
    if (path === undefined) return void writeRawResponse(socket, 400, 'invalid request target', undefined);
    const routeKey = routeKeyOf(method, path);
    const decision = router.route({
      routeKey,
      override: parseTargetOverride(request.headers[TARGET_HEADER], request.headers.cookie),
      stickyKey: cookieValue(request.headers.cookie, stickyCookie),
    });
    // Upgrades are never retried (the tunnel could not be replayed anyway), but they are moved off an
    // ejected arm like any weighted request.
    const choice = decision.override ? undefined : health.choose(decision.arm, router.weights());
    const arm = choice?.arm ?? decision.arm;
    const override = decision.override || choice?.rerouted === true;
    const upstream = upstreams[arm];
    let upstreamRequest: ClientRequest;
    try {
      upstreamRequest = httpRequest({
        host: upstream.host,
        port: upstream.port,
        method,
        path,
        headers: withHost(upgradeRequestHeaders(forwardRequestHeaders(request, true), request.headers.upgrade ?? ''), upstream),
        // Upgraded sockets leave any pool: each upgrade gets a connection of its own (node:http, no agent).
        agent: false,
      });
    } catch (error) {
      if (choice) health.settled(choice);
      return void writeRawResponse(socket, 400, `cannot forward request: ${(error as Error).message}`, undefined);
    }
    tunnels.set(socket, undefined);
    const openLink = open.push(startNs);

    let finished = false;
    let ttfbNs: bigint | undefined;
    let bytesOut = 0;
    let status = 0;
    let upstreamError: UpstreamError = 'none';
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      tunnels.delete(socket);
      seq += 1;
      emit({
        seq,
        tMonoNs: startNs.toString(),
        step: requestStep,
        arm,
        routeKey,
        method,
        status,
        upstreamError,
        ttfbUs: ttfbNs === undefined ? 0 : nsToUs(ttfbNs - startNs),
        totalUs: nsToUs(clock() - startNs),
        bytesOut,
        override,
        mirrored: false,
      });
      if (choice) health.settled(choice);
      open.remove(openLink);
      if (tunnels.size === 0) tunnelsDrained?.();
    };
    const fail = (failStatus: number, message: string, error: UpstreamError): void => {
      if (finished || ttfbNs !== undefined) return;
      status = failStatus;
      upstreamError = error;
      upstreamRequest.destroy();
      bytesOut = writeRawResponse(socket, failStatus, message, arm);
      finish();
    };

    const deadline = setTimeout(() => fail(504, `upstream did not respond within ${limits.upstreamTimeout} ms`, 'timeout'), limits.upstreamTimeout);
    let connected = false;
    const onConnected = (): void => {
      connected = true;
      health.connected(arm);
    };
    upstreamRequest.on('socket', (s: Socket) => {
      if (s.connecting) s.once('connect', onConnected);
      else onConnected();
    });
    upstreamRequest.on('error', () => {
      // After the deadline or the client's close the request was destroyed by the proxy: no verdict.
      if (!connected && !finished) health.connectFailed(arm);
      fail(502, connected ? 'upstream closed the connection before responding' : 'upstream connection failed', connected ? 'reset' : 'connect');
    });
    socket.on('close', () => {
      // An established tunnel finishes through linkTunnelEnds.
      if (finished || status === STATUS_SWITCHING_PROTOCOLS) return;
      upstreamRequest.destroy();
      // Before the upstream answered, the client gave up; after a refusal, the relay was cut short.
      if (ttfbNs === undefined) status = STATUS_CLIENT_CLOSED;
      finish();
    });

    upstreamRequest.on('upgrade', (upstreamResponse: IncomingMessage, upgraded: Duplex, upstreamHead: Buffer) => {
      upgraded.on('error', noop);
      if (finished) return void upgraded.destroy();
      ttfbNs = clock();
      clearTimeout(deadline);
      status = STATUS_SWITCHING_PROTOCOLS;
      tunnels.set(socket, upgraded);
      const { headers } = forwardResponseHeaders(upstreamResponse.rawHeaders);
      headers.push('Connection', 'Upgrade', 'Upgrade', upstreamResponse.headers.upgrade ?? '', ARM_RESPONSE_HEADER, arm);
      socket.write(rawHead(STATUS_SWITCHING_PROTOCOLS, upstreamResponse.statusMessage ?? 'Switching Protocols', headers));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upgraded.write(head);
      upgraded.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
      });
      upgraded.pipe(socket);
      socket.pipe(upgraded);
      linkTunnelEnds(socket, upgraded, finish);
    });

    upstreamRequest.on('response', (upstreamResponse: IncomingMessage) => {
      // The upstream declined the upgrade: relay its answer, then close (the connection's framing
      // after a refused upgrade is not worth guessing).
      upstreamResponse.on('error', noop);
      if (finished) return void upstreamResponse.resume();
      ttfbNs = clock();
      clearTimeout(deadline);
      status = upstreamResponse.statusCode ?? 502;
      const { headers } = forwardResponseHeaders(upstreamResponse.rawHeaders);
      headers.push('Connection', 'close', ARM_RESPONSE_HEADER, arm);
      socket.write(rawHead(status, upstreamResponse.statusMessage ?? '', headers));
      upstreamResponse.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
      });
      upstreamResponse.on('close', () => {
        if (!upstreamResponse.complete) upstreamError = 'reset';
        socket.end();
        finish();
      });
      upstreamResponse.pipe(socket, { end: false });
    });
    upstreamRequest.end();
  }

  function closeIdleSoon(): void {
    setImmediate(() => server.closeIdleConnections());
  }

  await new Promise<void>((resolve, reject) => {
    const onListenError = (error: NodeJS.ErrnoException): void => {
      reject(
        new EnvironmentError(
          error.code === 'EADDRINUSE' ? 'PROXY_PORT_IN_USE' : 'PROXY_LISTEN_FAILED',
          `the release proxy cannot listen on ${host}:${options.port ?? 0}: ${error.message}`,
          error.code === 'EADDRINUSE' ? 'choose another proxy port or stop what is using it' : undefined,
          error,
        ),
      );
    };
    server.once('error', onListenError);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', onListenError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);

  /** Taken in one synchronous run, so the three values describe the same instant. */
  const progress = (): RecordProgress => {
    const nowNs = clock();
    return { nowNs: nowNs.toString(), watermarkNs: (open.first()?.value ?? nowNs).toString(), lastSeq: seq };
  };
  const status = (): ProxyStatus => ({
    weights: router.weights(),
    step,
    inFlight,
    tunnels: tunnels.size,
    draining,
    metrics: metrics.snapshot(),
    ejected: health.snapshot(),
    ...progress(),
  });
  const setWeights = (weights: Weights): void => router.setWeights(weights);
  const applyWeights = (weights: Weights, nextStep?: number): AppliedWeights => {
    if (nextStep !== undefined && (!Number.isSafeInteger(nextStep) || nextStep < 0)) {
      throw new RangeError(`step must be an integer ≥ 0, got ${String(nextStep)}`);
    }
    // The router validates before it changes anything; the step follows in the same synchronous
    // run, so no request can see the new weights with the old step.
    router.setWeights(weights);
    if (nextStep !== undefined) step = nextStep;
    return { weights: router.weights(), step, appliedNs: clock().toString() };
  };
  /** The admin API's `PUT /weights` when the change must be persisted first: one at a time, in order. */
  let weightChanges: Promise<unknown> = Promise.resolve();
  const applyWeightsDurably = (persist: NonNullable<ProxyOptions['persistWeights']>, weights: Weights, nextStep?: number): Promise<AppliedWeights> => {
    const change = weightChanges.then(async () => {
      if (nextStep !== undefined && (!Number.isSafeInteger(nextStep) || nextStep < 0)) {
        throw new RangeError(`step must be an integer ≥ 0, got ${String(nextStep)}`);
      }
      const valid = validateWeights(weights);
      await persist({ weights: valid, step: nextStep ?? step });
      return applyWeights(valid, nextStep);
    });
    weightChanges = change.catch(() => undefined);
    return change;
  };
  const records = (after: number, limit: number): RecordsPage | RecordsGone => {
    // An earlier run's records are only in its file; the ring starts with this run's first.
    if (after < resumedSeq && ring.lastSeq() === 0) return { gone: true, oldestSeq: resumedSeq + 1 };
    const page = ring.after(after, limit);
    return 'gone' in page ? page : { records: page, ...progress() };
  };
  const routes = (forStep?: number): RouteSplitPage => routeSplit.page(forStep ?? step);

  let admin: AdminServer | undefined;
  if (options.adminSocketPath !== undefined) {
    try {
      const { persistWeights } = options;
      const applyForAdmin = persistWeights ? (weights: Weights, nextStep?: number) => applyWeightsDurably(persistWeights, weights, nextStep) : applyWeights;
      admin = await startAdminServer(options.adminSocketPath, { status, applyWeights: applyForAdmin, records, routes });
    } catch (error) {
      clearInterval(deadlineSweep);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= drain();
    return closing;
  };

  async function drain(): Promise<void> {
    draining = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Connections whose response was already under way when the drain began stay keep-alive; close
    // them as soon as they go idle.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const tunnelsClosed = new Promise<void>((resolve) => {
      tunnelsDrained = resolve;
      if (tunnels.size === 0) resolve();
    });
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      for (const [client, upstream] of tunnels) {
        client.destroy();
        upstream?.destroy();
      }
    }, limits.drainTimeout);
    await Promise.all([serverClosed, tunnelsClosed, admin?.close()]);
    clearInterval(sweep);
    clearInterval(deadlineSweep);
    clearTimeout(deadline);
    await Promise.all(Object.values(pools).map((pool) => pool.destroy().catch(noop)));
  }

  return {
    host,
    port,
    adminSocketPath: admin?.socketPath,
    setWeights,
    weights: () => router.weights(),
    setStep: (next: number) => {
      step = next;
    },
    applyWeights,
    status,
    records,
    routes,
    close,
  };
}

/**
 * One arm's upstream connections: keep-alive, one request per connection at a time (no pipelining),
 * as many connections as requests in flight. Idle connections close after `upstreamFreeSocketTimeout`
 * (or sooner when the backend's `Keep-Alive: timeout` says so). The deadline up to the response
 * headers is the proxy's own (one per request, retry included), so undici's is off; its body timeout
 * is `upstreamIdleTimeout`.
 */
function upstreamPool(upstream: Upstream, limits: ProxyLimits): Pool {
  const host = upstream.host.includes(':') && !upstream.host.startsWith('[') ? `[${upstream.host}]` : upstream.host;
  return new Pool(`http://${host}:${upstream.port}`, {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: limits.upstreamFreeSocketTimeout,
    keepAliveMaxTimeout: limits.upstreamFreeSocketTimeout,
    headersTimeout: 0,
    bodyTimeout: limits.upstreamIdleTimeout,
    connectTimeout: limits.upstreamTimeout,
  });
}

/** The limits given in the options, without the `undefined` ones (so defaults stay). */
function definedLimits(options: Partial<ProxyLimits>): Partial<ProxyLimits> {
  const keys = Object.keys(DEFAULT_PROXY_LIMITS) as (keyof ProxyLimits)[];
  return Object.fromEntries(keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
}

/** Why the proxy refuses a request that Node's parser accepted, if it does. */
function rejectionOf(request: IncomingMessage, maxHeaderCount: number): { status: number; message: string } | undefined {
  if (request.rawHeaders.length / 2 > maxHeaderCount) {
    return { status: 431, message: `more than ${maxHeaderCount} header fields` };
  }
  const transferEncoding = request.headers['transfer-encoding'];
  // Only plain `chunked` is forwarded: other codings (and `chunked, chunked`) are how smuggling
  // payloads disagree between hops (RFC 9112 §6.3).
  if (transferEncoding !== undefined && transferEncoding.trim().toLowerCase() !== 'chunked') {
    return { status: 400, message: 'unsupported Transfer-Encoding (only "chunked")' };
  }
  return undefined;
}

/** `http://host/p?q` (absolute-form) → `/p?q`; origin-form and `*` unchanged; undefined if unusable. */
function originFormPath(url: string): string | undefined {
  if (url.startsWith('/') || url === '*') return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return undefined;
  }
}

/**
 * Adds the header names listed in a `Connection` value (lower-case) to `tokens`: hop-by-hop by
 * declaration. Names that are hop-by-hop anyway (`keep-alive`, the usual value) are left out, so
 * the set stays undefined and the headers need no second pass.
 */
function addConnectionTokens(value: string, tokens: Set<string> | undefined): Set<string> | undefined {
  // What nearly every keep-alive peer sends: no split, no set.
  if (value.length === 10 && value.toLowerCase() === 'keep-alive') return tokens;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && !isHopByHopByName(name)) (tokens ??= new Set()).add(name);
  }
  return tokens;
}

/** Hop-by-hop by nature (listed or `proxy-*`); `Connection`'s own tokens are checked apart. */
function isHopByHopByName(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-');
}

/** The client's headers for upstream, and whether they carry a Host. */
interface ForwardedRequestHeaders {
  headers: string[];
  hasHost: boolean;
}

/**
 * The client's headers as sent upstream (flat raw list, names as received): hop-by-hop removed,
 * framing regenerated from what Node parsed (never copied), `X-Forwarded-For` replaced by the
 * client's address, `X-Forwarded-Proto: http`. `Expect` is dropped: Node already answered
 * `100 Continue`. Host is added later, per upstream, if the client sent none. A chunked request gets
 * `Transfer-Encoding: chunked` only when `chunkedHeader` (node:http); undici refuses the header and
 * chunks a body of unknown length itself.
 *
 * One pass over the raw list; the names a `Connection` header declares hop-by-hop are removed in a
 * second pass only when there is one (it may come after the headers it names).
 */
function forwardRequestHeaders(request: IncomingMessage, chunkedHeader: boolean): ForwardedRequestHeaders {
  const raw = request.rawHeaders;
  let headers: string[] = [];
  let tokens: Set<string> | undefined;
  let hasHost = false;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      // Host stays even if `Connection` names it: the backend needs it, and it is not hop-by-hop.
      hasHost = true;
      headers.push(name, raw[index + 1]!);
    } else if (lower === 'connection') {
      tokens = addConnectionTokens(raw[index + 1]!, tokens);
    } else if (!REGENERATED_REQUEST_HEADERS.has(lower) && !isHopByHopByName(lower)) {
      headers.push(name, raw[index + 1]!);
    }
  }
  if (tokens !== undefined && tokens.size > 0) headers = withoutTokens(headers, tokens, 'host');
  if (request.headers['transfer-encoding'] !== undefined) {
    if (chunkedHeader) headers.push('Transfer-Encoding', 'chunked');
  } else if (request.headers['content-length'] !== undefined) headers.push('Content-Length', request.headers['content-length']);
  headers.push('X-Forwarded-For', request.socket.remoteAddress ?? '', 'X-Forwarded-Proto', 'http');
  return { headers, hasHost };
}

/** `headers` without the fields `tokens` names (lower-case), except `keep`. */
function withoutTokens(headers: readonly string[], tokens: ReadonlySet<string>, keep: string | undefined): string[] {
  const kept: string[] = [];
  for (let index = 0; index + 1 < headers.length; index += 2) {
    const lower = headers[index]!.toLowerCase();
    if (lower === keep || !tokens.has(lower)) kept.push(headers[index]!, headers[index + 1]!);
  }
  return kept;
}

/** An upgrade request's headers: the forwarded ones plus the upgrade it asks for. */
function upgradeRequestHeaders(forwarded: ForwardedRequestHeaders, upgrade: string): ForwardedRequestHeaders {
  forwarded.headers.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return forwarded;
}

/** The headers for one upstream: the client's own list when it has a Host (neither client changes it). */
function withHost(forwarded: ForwardedRequestHeaders, upstream: Upstream): string[] {
  return forwarded.hasHost ? forwarded.headers : ['Host', `${upstream.host}:${upstream.port}`, ...forwarded.headers];
}

/** The upstream's response headers for the client, and whether they carry a Date. */
interface ForwardedResponseHeaders {
  headers: string[];
  hasDate: boolean;
}

const ARM_HEADER_LOWER = ARM_RESPONSE_HEADER.toLowerCase();

function latin1(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

/**
 * The upstream's response headers for the client: hop-by-hop and any spoofed arm header removed.
 * `rawHeaders` as node:http gives them (strings) or undici (bytes, decoded as latin1 like node:http does).
 */
function forwardResponseHeaders(rawHeaders: readonly (string | Buffer)[]): ForwardedResponseHeaders {
  let headers: string[] = [];
  let tokens: Set<string> | undefined;
  let hasDate = false;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = latin1(rawHeaders[index]!);
    const lower = name.toLowerCase();
    if (lower === 'connection') tokens = addConnectionTokens(latin1(rawHeaders[index + 1]!), tokens);
    else if (lower !== ARM_HEADER_LOWER && !isHopByHopByName(lower)) {
      if (lower === 'date') hasDate = true;
      headers.push(name, latin1(rawHeaders[index + 1]!));
    }
  }
  if (tokens !== undefined && tokens.size > 0) {
    headers = withoutTokens(headers, tokens, undefined);
    if (hasDate && tokens.has('date')) hasDate = false;
  }
  return { headers, hasDate };
}

/**
 * Another arm that currently takes traffic: the highest weight, ties to the stable image. Arms that
 * are not ejected come first; prod, even at weight 0, before an ejected arm (as for a reroute).
 */
function chooseRetryArm(failed: Arm, weights: Weights, health: ArmHealth): Arm | undefined {
  const best = (usable: (arm: Arm) => boolean): Arm | undefined => {
    let found: Arm | undefined;
    for (const arm of RETRY_PREFERENCE) {
      if (arm !== failed && usable(arm) && (found === undefined || weights[arm] > weights[found])) found = arm;
    }
    return found;
  };
  return (
    best((arm) => weights[arm] > 0 && !health.isEjected(arm)) ??
    (failed !== 'prod' && !health.isEjected('prod') ? 'prod' : undefined) ??
    best((arm) => weights[arm] > 0)
  );
}

/** A proxy-generated error (plain text, connection closed after it); returns the body's size. */
function sendProxyError(response: ServerResponse, status: number, message: string, arm: Arm | undefined): number {
  if (response.headersSent) {
    response.destroy();
    return 0;
  }
  const body = `${message}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  if (arm) headers[ARM_RESPONSE_HEADER] = arm;
  response.writeHead(status, headers);
  response.end(body);
  return Buffer.byteLength(body);
}

/** The same on a raw socket (upgrade requests have no ServerResponse); returns the body's size. */
function writeRawResponse(socket: Duplex, status: number, message: string, arm: Arm | undefined): number {
  const body = `${message}\n`;
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)), 'Connection', 'close'];
  if (arm) headers.push(ARM_RESPONSE_HEADER, arm);
  if (socket.writable) socket.end(rawHead(status, statusText(status), headers) + body);
  else socket.destroy();
  return Buffer.byteLength(body);
}

function rawHead(status: number, message: string, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let index = 0; index + 1 < headers.length; index += 2) head += `${headers[index]}: ${headers[index + 1]}\r\n`;
  return `${head}\r\n`;
}

function statusText(status: number): string {
  const texts: Record<number, string> = { 400: 'Bad Request', 431: 'Request Header Fields Too Large', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
  return texts[status] ?? 'Error';
}

/**
 * Either side ending or closing shuts the tunnel down: both sides are ended (bytes already written
 * still flush) and destroyed after a short grace if a peer never closes. The HTTP server's sockets
 * are half-open capable, so without this a client's FIN would leave the tunnel open forever.
 * An error on either side destroys both at once.
 */
function linkTunnelEnds(client: Duplex, upstream: Duplex, onClosed: () => void): void {
  let open = 2;
  let grace: NodeJS.Timeout | undefined;
  const shutDown = (): void => {
    if (grace) return;
    upstream.unpipe(client);
    client.unpipe(upstream);
    client.end();
    upstream.end();
    grace = setTimeout(() => {
      client.destroy();
      upstream.destroy();
    }, TUNNEL_CLOSE_GRACE_MS).unref();
  };
  for (const side of [client, upstream]) {
    side.once('end', shutDown);
    side.once('close', () => {
      shutDown();
      open -= 1;
      if (open === 0) {
        clearTimeout(grace);
        onClosed();
      }
    });
    side.once('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
}

/** The first cookie called `name`; empty values count as absent. */
function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  for (const pair of cookieHeader?.split(';') ?? []) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function nsToUs(ns: bigint): number {
  return Number(ns / 1000n);
}
