/**
 * The proxy's in-memory aggregates (canary.md §3.2): per arm, and per step × arm, how many requests,
 * how many were bad, how many 4xx, and latency percentiles from an HDR histogram. This is what the
 * admin API's `GET /status` shows; the judge works from the per-request records, not from these.
 */
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { ARMS, type Arm, type RequestRecord } from './types.js';

/** nginx's "client closed request": the client went away before the response was complete. */
export const STATUS_CLIENT_CLOSED = 499;
/** An upgrade (WebSocket) tunnel; its record spans the tunnel's lifetime. */
export const STATUS_SWITCHING_PROTOCOLS = 101;

/** canary.md §3.2: status ≥ 500, or the upstream failed (connect, reset, timeout). */
export function isBadRecord(record: Pick<RequestRecord, 'status' | 'upstreamError'>): boolean {
  return record.status >= 500 || record.upstreamError !== 'none';
}

/**
 * Whether the record's `totalUs` is a response latency. Bad requests are excluded (canary.md §3.2),
 * and so are requests the client abandoned (499: no complete response) and upgrade tunnels (101:
 * `totalUs` is how long the tunnel stayed open).
 */
export function hasResponseLatency(record: Pick<RequestRecord, 'status' | 'upstreamError'>): boolean {
  return !isBadRecord(record) && record.status !== STATUS_CLIENT_CLOSED && record.status !== STATUS_SWITCHING_PROTOCOLS;
}

export interface LatencySummary {
  /** Number of latencies recorded (good, complete responses). */
  count: number;
  /** Microseconds; 0 when count is 0. Within 1% of the exact value (2 significant digits). */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ArmMetrics {
  /** Every recorded request, overrides and retries included. */
  requests: number;
  /** Status ≥ 500 or an upstream error. */
  bad: number;
  /** 400-499, 499 (client closed) included. */
  status4xx: number;
  /** Requests pinned by `X-Envctl-Target`/`envctl_target`, or sent here by a retry or off an ejected arm: not randomised. */
  overrides: number;
  upstreamErrors: { connect: number; reset: number; timeout: number };
  /** Good, complete responses only ({@link hasResponseLatency}). */
  latencyUs: LatencySummary;
}

export interface MetricsSnapshot {
  /** Since the proxy started. */
  total: Record<Arm, ArmMetrics>;
  /** One entry per step that has recorded requests, in step order. */
  steps: { step: number; arms: Record<Arm, ArmMetrics> }[];
}

export interface ProxyMetrics {
  observe(record: RequestRecord): void;
  /** A JSON-serialisable copy; later observations do not change it. */
  snapshot(): MetricsSnapshot;
}

/** 1 µs … 1 h; auto-resizes beyond. */
const HIGHEST_TRACKABLE_US = 3_600_000_000;

/**
 * Each request is observed once, in its step's aggregates; the totals since the start are the
 * steps' sum, added up when a snapshot asks for them.
 */
export function createProxyMetrics(): ProxyMetrics {
  const byStep = new Map<number, Record<Arm, ArmAggregate>>();
  return {
    observe(record: RequestRecord): void {
      let stepAggregates = byStep.get(record.step);
      if (!stepAggregates) {
        stepAggregates = createArmAggregates();
        byStep.set(record.step, stepAggregates);
      }
      stepAggregates[record.arm].observe(record);
    },
    snapshot(): MetricsSnapshot {
      const steps = [...byStep.entries()].sort(([a], [b]) => a - b);
      const total = createArmAggregates();
      for (const [, arms] of steps) for (const arm of ARMS) total[arm].add(arms[arm]);
      return {
        total: summariseArms(total),
        steps: steps.map(([step, arms]) => ({ step, arms: summariseArms(arms) })),
      };
    },
  };
}

function createArmAggregates(): Record<Arm, ArmAggregate> {
  return { canary: new ArmAggregate(), baseline: new ArmAggregate(), prod: new ArmAggregate() };
}

function summariseArms(arms: Record<Arm, ArmAggregate>): Record<Arm, ArmMetrics> {
  return Object.fromEntries(ARMS.map((arm) => [arm, arms[arm].summary()])) as Record<Arm, ArmMetrics>;
}

class ArmAggregate {
  private requests = 0;
  private bad = 0;
  private status4xx = 0;
  private overrides = 0;
  private readonly upstreamErrors = { connect: 0, reset: 0, timeout: 0 };
  // Pure-JS histogram: no WebAssembly memory to free, garbage-collected with the proxy.
  private readonly latency: Histogram = buildHistogram({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 2,
    autoResize: true,
    useWebAssembly: false,
  });

  observe(record: RequestRecord): void {
    this.requests += 1;
    if (isBadRecord(record)) this.bad += 1;
    if (record.status >= 400 && record.status < 500) this.status4xx += 1;
    if (record.override) this.overrides += 1;
    if (record.upstreamError !== 'none') this.upstreamErrors[record.upstreamError] += 1;
    if (hasResponseLatency(record)) this.latency.recordValue(Math.max(1, Math.round(record.totalUs)));
  }

  /** Adds another aggregate's counts and latencies to this one's. */
  add(other: ArmAggregate): void {
    this.requests += other.requests;
    this.bad += other.bad;
    this.status4xx += other.status4xx;
    this.overrides += other.overrides;
    for (const kind of Object.keys(other.upstreamErrors) as (keyof ArmAggregate['upstreamErrors'])[]) this.upstreamErrors[kind] += other.upstreamErrors[kind];
    this.latency.add(other.latency);
  }

  summary(): ArmMetrics {
    const count = this.latency.totalCount;
    const at = (percentile: number): number => (count === 0 ? 0 : this.latency.getValueAtPercentile(percentile));
    return {
      requests: this.requests,
      bad: this.bad,
      status4xx: this.status4xx,
      overrides: this.overrides,
      upstreamErrors: { ...this.upstreamErrors },
      latencyUs: {
        count,
        p50: at(50),
        p95: at(95),
        p99: at(99),
        max: count === 0 ? 0 : this.latency.maxValue,
        mean: count === 0 ? 0 : Math.round(this.latency.mean),
      },
    };
  }
}
