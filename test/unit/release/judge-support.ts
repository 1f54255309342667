/**
 * Shared by the judge tests: the default release config as the schema resolves it, a snapshot
 * builder, and the tests' own seeded generator (independent of the judge's, so a bug in one cannot
 * hide in the other).
 */
import { definitionSchema, type ReleaseConfig } from '../../../src/definition/schema.js';
import type { StepSnapshot } from '../../../src/release/analysis/snapshot.js';

/** `pipeline.release` with every default applied, plus `overrides` in the written (YAML) form. */
export function releaseConfig(overrides: Record<string, unknown> = {}): ReleaseConfig {
  const definition = definitionSchema.parse({ pipeline: { release: { service: 'web', ...overrides } } });
  return definition.pipeline!.release!;
}

/** A step that met its minimums with identical arms and nothing wrong; override what a test needs. */
export function snapshotOf(overrides: Partial<StepSnapshot> = {}): StepSnapshot {
  const latencies = Array.from({ length: 400 }, (_, i) => 40 + (i % 50) * 0.5 + i * 0.001);
  return {
    step: 1,
    weight: 10,
    elapsedMs: 90_000,
    warmingUp: false,
    pi: 0.5,
    analysed: { canary: 400, baseline: 400 },
    events: [],
    latencyMs: { canary: latencies, baseline: latencies.map((v) => v + 0.0001) },
    slowThresholdMs: 80,
    health: { canary: 'healthy', baseline: 'healthy' },
    longestCanaryBadRun: 0,
    newFingerprints: [],
    seed: 1,
    ...overrides,
  };
}

export { quantile, XorShift128 } from '../../../src/release/analysis/simulate.js';
