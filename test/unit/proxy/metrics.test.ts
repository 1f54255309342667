import { describe, expect, it } from 'vitest';
import { createProxyMetrics } from '../../../src/proxy/metrics.js';
import type { Arm, RequestRecord, UpstreamError } from '../../../src/proxy/types.js';

let seq = 0;
function record(step: number, arm: Arm, status: number, totalUs: number, extra: { upstreamError?: UpstreamError; override?: boolean } = {}): RequestRecord {
  seq += 1;
  return {
    seq,
    tMonoNs: String(seq * 1000),
    step,
    arm,
    routeKey: 'GET /',
    method: 'GET',
    status,
    upstreamError: extra.upstreamError ?? 'none',
    ttfbUs: totalUs,
    totalUs,
    bytesOut: 10,
    override: extra.override ?? false,
    mirrored: false,
  };
}

describe('the proxy metrics', () => {
  it('counts each record in its step, and the totals are every step together', () => {
    const metrics = createProxyMetrics();
    // Steps arrive interleaved (a request of the old step finishing after the new one began).
    const records = [
      record(1, 'canary', 200, 1_000),
      record(1, 'prod', 200, 2_000),
      record(2, 'canary', 200, 9_000),
      record(1, 'canary', 502, 50, { upstreamError: 'connect' }),
      record(2, 'canary', 404, 300, { override: true }),
      record(2, 'prod', 499, 40_000),
      record(3, 'baseline', 504, 10_000_000, { upstreamError: 'timeout' }),
      record(2, 'canary', 200, 5_000),
    ];
    for (const entry of records) metrics.observe(entry);
    const snapshot = metrics.snapshot();

    expect(snapshot.steps.map((entry) => entry.step)).toEqual([1, 2, 3]);
    expect(snapshot.steps[0]!.arms.canary).toMatchObject({ requests: 2, bad: 1, upstreamErrors: { connect: 1, reset: 0, timeout: 0 } });
    expect(snapshot.steps[1]!.arms.canary).toMatchObject({ requests: 3, bad: 0, status4xx: 1, overrides: 1 });
    expect(snapshot.steps[1]!.arms.canary.latencyUs).toMatchObject({ count: 3, max: 9_000 });

    expect(snapshot.total.canary).toMatchObject({ requests: 5, bad: 1, status4xx: 1, overrides: 1, upstreamErrors: { connect: 1, reset: 0, timeout: 0 } });
    // Latencies of good, complete responses of both steps: 1000, 9000, 300, 5000 µs.
    expect(snapshot.total.canary.latencyUs.count).toBe(4);
    expect(snapshot.total.canary.latencyUs.max).toBe(9_000);
    expect(Math.abs(snapshot.total.canary.latencyUs.p50 - 1_000)).toBeLessThanOrEqual(10);
    // The client-closed 499 counts as a request and a 4xx, never as a latency.
    expect(snapshot.total.prod).toMatchObject({ requests: 2, bad: 0, status4xx: 1 });
    expect(snapshot.total.prod.latencyUs).toMatchObject({ count: 1, max: 2_000 });
    expect(snapshot.total.baseline).toMatchObject({ requests: 1, bad: 1, upstreamErrors: { connect: 0, reset: 0, timeout: 1 } });
    expect(snapshot.total.baseline.latencyUs.count).toBe(0);
  });

  it('gives a snapshot that later observations do not change, and the same totals when asked twice', () => {
    const metrics = createProxyMetrics();
    metrics.observe(record(0, 'prod', 200, 100));
    const first = metrics.snapshot();
    metrics.observe(record(0, 'prod', 200, 200));
    expect(first.total.prod.requests).toBe(1);
    expect(first.steps[0]!.arms.prod.requests).toBe(1);
    const second = metrics.snapshot();
    expect(metrics.snapshot()).toEqual(second);
    expect(second.total.prod).toMatchObject({ requests: 2, latencyUs: { count: 2, max: 200 } });
  });
});
