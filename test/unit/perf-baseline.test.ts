import { describe, expect, it } from 'vitest';
import { medianFigures, type LoadFigures } from '../../src/pipeline/perf.js';

const figures = (p95: number, rps: number): LoadFigures => ({
  requests: 100,
  responses: 100,
  errors: 0,
  errorRate: 0,
  rps,
  latencyMs: { p50: p95 / 2, p95, p99: p95 * 2, mean: p95 / 2, max: p95 * 3 },
  durationMs: 1000,
});

describe('medianFigures (the perf regression baseline)', () => {
  it('is undefined without runs', () => {
    expect(medianFigures([])).toBeUndefined();
  });

  it('takes each figure’s median, so one unusually fast run does not become the baseline', () => {
    const baseline = medianFigures([figures(5, 4000), figures(20, 1500), figures(18, 1600)])!;
    expect(baseline.latencyMs.p95).toBe(18);
    expect(baseline.rps).toBe(1600);
    expect(baseline.latencyMs.p99).toBe(36);
  });

  it('averages the two middle values for an even count', () => {
    expect(medianFigures([figures(10, 100), figures(20, 200)])!.latencyMs.p95).toBe(15);
  });
});
