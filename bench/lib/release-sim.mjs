/**
 * The release simulation the judge's tests use (src/release/analysis/simulate.ts, built into
 * dist/), so the bench measures exactly what the tests simulate.
 */
import { definitionSchema } from '../../dist/definition/schema.js';

export { HEALTHY, quantile, simulateRelease, XorShift128 } from '../../dist/release/analysis/simulate.js';

/** `pipeline.release` with every default applied, plus `overrides` in the written (YAML) form. */
export function releaseConfig(overrides = {}) {
  return definitionSchema.parse({ pipeline: { release: { service: 'web', ...overrides } } }).pipeline.release;
}
