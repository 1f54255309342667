/**
 * The weighted release proxy's contracts (canary.md §3.1-3.2): arms, weights, routing decisions and
 * per-request records. Routing is pure (proxy/routing.ts); the server (proxy/server.ts) applies it.
 */

/** The three backends during a release. */
export const ARMS = ['canary', 'baseline', 'prod'] as const;
export type Arm = (typeof ARMS)[number];

/** Integer percentages per arm, summing to 100. */
export type Weights = Readonly<Record<Arm, number>>;

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

/** One line of `requests.jsonl` (canary.md §3.2). */
export interface RequestRecord {
  seq: number;
  /** Monotonic ns (process.hrtime.bigint()) as a decimal string. */
  tMonoNs: string;
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
