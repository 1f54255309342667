/**
 * Crash points for the fault tests (reliability.md §4): `ENVCTL_FAULT=after-create-tmp,after-rename`
 * makes envctl SIGKILL itself when it reaches one of the named steps, so a crash test is exact
 * instead of racing a timer; `step@3` kills the third time the step is reached. Unset (always,
 * outside tests), a crash point is one comparison.
 *
 * Steps (where they are):
 * - `up`: after-create, after-create-tmp, after-stop-old, after-remove-old, after-rename, after-start
 *   (engine/execute-plan.ts);
 * - state files: after-temp-write (a complete temporary file next to the state, before the rename:
 *   release state and other release files, run records);
 * - pipeline: pipeline-after-provision (an integration or perf environment up, its stage not run);
 * - release: release-after-slots, release-after-proxy, release-after-step-weights (the proxy has a
 *   step's weights, the state does not yet), release-after-pending (an ending decided and persisted,
 *   the final weights not yet applied), release-after-final-weights.
 */
import { writeFileSync } from 'node:fs';

/** Step → the visit that kills (1 = the first time it is reached). */
let armed: ReadonlyMap<string, number> | undefined;
const visits = new Map<string, number>();

function armedSteps(): ReadonlyMap<string, number> {
  armed ??= new Map(
    (process.env.ENVCTL_FAULT ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const [step, nth] = entry.split('@') as [string, string | undefined];
        return [step, Math.max(1, Number.parseInt(nth ?? '1', 10) || 1)] as const;
      }),
  );
  return armed;
}

/** True when `ENVCTL_FAULT` names this step and this visit of it is the one that kills (counts the visit). */
export function faultArmed(step: string): boolean {
  const steps = armedSteps();
  if (steps.size === 0 || !steps.has(step)) return false;
  const visit = (visits.get(step) ?? 0) + 1;
  visits.set(step, visit);
  return visit === steps.get(step);
}

/**
 * For `after-temp-write`: writes the complete new content to a temporary file beside `path` (as
 * write-file-atomic does before its rename), then SIGKILLs: the state file itself is never touched.
 */
export function crashAfterTempWrite(path: string, content: string): void {
  if (!faultArmed('after-temp-write')) return;
  writeFileSync(`${path}.envctl-fault-tmp`, content);
  kill('after-temp-write');
}

/** SIGKILLs this process when `ENVCTL_FAULT` names `step` (nothing runs after: no finally, no exit handler). */
export function crashPoint(step: string): void {
  if (faultArmed(step)) kill(step);
}

function kill(step: string): void {
  try {
    writeFileSync(2, `envctl: ENVCTL_FAULT: killed at ${step}\n`);
  } catch {
    // stderr closed: the kill is what matters.
  }
  process.kill(process.pid, 'SIGKILL');
}
