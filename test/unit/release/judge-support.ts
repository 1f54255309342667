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

/**
 * Marsaglia's xorshift128 (32-bit words): fast, seedable, plenty for Monte Carlo at these sizes.
 * The seed is spread with a multiplicative hash so neighbouring seeds give unrelated streams.
 */
export class XorShift128 {
  private x: number;
  private y: number;
  private z: number;
  private w: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let s = (seed ^ 0xdeadbeef) >>> 0;
    const next = () => {
      s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      s = Math.imul(s ^ (s >>> 12), 0x297a2d39) >>> 0;
      return (s ^ (s >>> 15)) >>> 0 || 1;
    };
    this.x = next();
    this.y = next();
    this.z = next();
    this.w = next();
    for (let i = 0; i < 8; i++) this.uint32();
  }

  uint32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.uint32() / 4_294_967_296;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u = (this.uint32() + 1) / 4_294_967_297;
    const angle = 2 * Math.PI * this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Lognormal latency in ms with the given median and log-scale σ. */
  lognormal(medianMs: number, sigma: number): number {
    return medianMs * Math.exp(sigma * this.normal());
  }
}

/** The q-quantile (nearest rank) of a numeric list. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
