/** The release simulation lives in src (the benchmark uses it too); tests import it from here. */
export { HEALTHY, simulateRelease, type ArmBehaviour, type ReleaseOutcome, type Scenario } from '../../../src/release/analysis/simulate.js';

/** Prints measured figures when ENVCTL_SIM_REPORT is set (kept quiet in CI otherwise). */
export function report(line: string): void {
  if (process.env.ENVCTL_SIM_REPORT) console.log(`[sim] ${line}`);
}
