/**
 * The weighted release proxy's contracts (canary.md §3.1-3.2): arms, weights, routing decisions and
 * per-request records. Routing is pure (proxy/routing.ts); the server (proxy/server.ts) applies it.
 */

/** The three backends during a release. */
export const ARMS = ['canary', 'baseline', 'prod'] as const;
export type Arm = (typeof ARMS)[number];

/** Integer percentages per arm, summing to 100. */
export type Weights = Readonly<Record<Arm, number>>;

/** One arm's ejection as the admin `GET /status` shows it (`ejected.<arm>`; null when admitted). */
export interface ArmEjection {
  /** End of the window, decimal ns on the proxy's clock (compare with `nowNs`); after it, the next request routed to the arm is a probe. */
  untilNs: string;
  /** The current window's length, ms (doubles after each failed probe). */
  windowMs: number;
  /** Consecutive connect failures so far, the ones that ejected the arm and any since. */
  failures: number;
  /** A probe request is in flight. */
  probing: boolean;
}

export interface RouteRequest {
  /** Method + path template (e.g. `GET /api/items/:id`): one scheduler per key (stratified). */
  routeKey: string;
  /** `X-Envctl-Target` header or `envctl_target` cookie value, if any (validated by the caller). */
  override: Arm | undefined;
  /** Client key for sticky mode (cookie value), if any. */
  stickyKey: string | undefined;
}

export interface RouteDecision {
  arm: Arm;
  /** Override traffic is excluded from the statistics. */
  override: boolean;
}

export interface Router {
  route(request: RouteRequest): RouteDecision;
  /** Replaces the weights (resets the per-stratum counters, as canary.md says). */
  setWeights(weights: Weights): void;
  weights(): Weights;
}

export type UpstreamError = 'none' | 'connect' | 'reset' | 'timeout';

/**
 * One line of `requests.jsonl` (canary.md §3.2). Written when the request finishes, so records are
 * in finish order, which is not arrival order: a slow request's record comes after those of
 * faster ones that arrived later.
 */
export interface RequestRecord {
  /** 1, 2, 3, … in the order records are written (finish order), without gaps. */
  seq: number;
  /**
   * When the request ARRIVED (its headers were parsed and its arm was chosen): the proxy's
   * monotonic clock (`process.hrtime.bigint()`, continued past the recording's last value after a
   * restart: proxy/main.ts), as a decimal ns string. Comparable with the other values of the same
   * recording (`nowNs`, `watermarkNs`, `appliedNs` of the admin API).
   */
  tMonoNs: string;
  /** The step in force when the request arrived (fixed together with its arm). */
  step: number;
  arm: Arm;
  routeKey: string;
  method: string;
  status: number;
  upstreamError: UpstreamError;
  ttfbUs: number;
  totalUs: number;
  bytesOut: number;
  override: boolean;
  mirrored: boolean;
}

/** Where the records stand at one instant of the proxy's monotonic clock (admin `GET /status`, `GET /records`). */
export interface RecordProgress {
  /** The proxy's `process.hrtime.bigint()` at that instant, decimal ns. */
  nowNs: string;
  /**
   * Decimal ns on the same clock: every request that arrived (`tMonoNs`) before this has finished
   * and has its record (seq ≤ `lastSeq`). It is the arrival time of the oldest request still open
   * (HTTP exchange or upgrade tunnel), or `nowNs` when none is; so a long response or an open
   * WebSocket holds it back until it ends.
   */
  watermarkNs: string;
  /** seq of the newest record; 0 before the first. */
  lastSeq: number;
}

/** Admin `GET /records`: the records after a seq, and the progress at the same instant. */
export interface RecordsPage extends RecordProgress {
  /** seq order, consecutive; may stop short of `lastSeq` when the limit cut it (ask again after the last one). */
  records: RequestRecord[];
}

/** The records asked for are no longer in memory: read `requests.jsonl.gz` for seq < `oldestSeq`. */
export interface RecordsGone {
  gone: true;
  /** The oldest seq still held in memory. */
  oldestSeq: number;
}

/** One route key's requests in one step, as the router split them (admin `GET /routes`). */
export interface RouteSplit {
  /** Method + path template, e.g. `GET /api/items/:id`. */
  routeKey: string;
  /** Records per arm that the weights chose (override records apart). */
  arms: Record<Arm, number>;
  /** Records pinned by `X-Envctl-Target`/`envctl_target`, retried on another arm, or moved off an ejected arm, whatever their arm. */
  override: number;
}

/** Admin `GET /routes`: the per-route split of one step. */
export interface RouteSplitPage {
  step: number;
  /** Most records first; ties by route key. */
  routes: RouteSplit[];
  /**
   * Route keys beyond the cap of distinct keys per step (the router's strata cap), counted together;
   * null when there were none.
   */
  otherRoutes: Omit<RouteSplit, 'routeKey'> | null;
}
