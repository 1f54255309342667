/**
 * Crash points for the fault tests (reliability.md §4): `ENVCTL_FAULT=after-create-tmp,after-rename`
 * makes envctl SIGKILL itself when it reaches one of the named steps, so a crash test is exact
 * instead of racing a timer; `step@3` kills the third time the step is reached. Unset (always,
 * outside tests), a crash point is one comparison.
 *
 * Steps (where they are):
 * - `up`: after-create, after-create-tmp, after-stop-old, after-remove-old, after-rename, after-start
 *   (engine/execute-plan.ts);
 * - state files: after-temp-write (inside write-file-atomic: its temporary file written, synced and
 *   closed, its rename not done: release state and other release files, run records);
 * - pipeline: pipeline-after-provision (an integration or perf environment up, its stage not run);
 * - release: release-after-slots, release-after-proxy, release-after-step-weights (the proxy has a
 *   step's weights, the state does not yet), release-after-pending (an ending decided and persisted,
 *   the final weights not yet applied), release-after-final-weights.
 */
import fs, { realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
 * For `after-temp-write`, called just before the real atomic write of `path`: when this visit is
 * the armed one, the next `fs.rename` onto `path` (write-file-atomic's last step, after it wrote,
 * synced and closed its temporary file) SIGKILLs instead of renaming. The crash is inside the real
 * writer, so a writer that is not temporary-file-then-rename never reaches it.
 */
export function crashBeforeRenameOnto(path: string): void {
  if (!faultArmed('after-temp-write')) return;
  const target = canonical(path);
  const rename = fs.rename;
  fs.rename = ((from: fs.PathLike, to: fs.PathLike, callback: fs.NoParamCallback) => {
    if (canonical(String(to)) === target) kill('after-temp-write');
    rename(from, to, callback);
  }) as typeof fs.rename;
}

/** The real folder (write-file-atomic renames onto the realpath) and the name, which may not exist yet. */
function canonical(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
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
