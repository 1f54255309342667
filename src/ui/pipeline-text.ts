/**
 * Words and numbers shared by the pipeline's Ink view and its plain lines, so both say the same thing.
 */
import type { PipelineState, StageCheck, StageProgress } from './pipeline-store.js';
import { formatElapsed } from './progress-text.js';

type Run = NonNullable<PipelineState['run']>;

/** `demo (env staging)`; the env part is left out for the base definition (empty env). */
function runTarget(run: Run): string {
  return `${run.project}${run.env === '' ? '' : ` (env ${run.env})`}`;
}

/** The live view's header: `pipeline 20261126T103512Z-a1b2 for demo (env default)`. */
export function pipelineTitle(run: Run): string {
  return `pipeline ${run.runId} for ${runTarget(run)}`;
}

/** The plain header, with the stages in run order: `pipeline <id> demo (env default): build, perf`. */
export function pipelinePlainTitle(run: Run, stages: readonly StageProgress[]): string {
  return `pipeline ${run.runId} ${runTarget(run)}: ${stages.map((stage) => stage.name).join(', ')}`;
}

/**
 * How long a stage has run at `now` (ms, the pipeline events' clock), or ran once it ended. Time
 * stops when the run is done, so a final frame does not keep counting. Undefined for a stage that
 * never ran (pending, or skipped or failed without running).
 */
export function stageDuration(stage: StageProgress, state: PipelineState, now: number): number | undefined {
  if (stage.startedAt === undefined) return undefined;
  const end = stage.endedAt ?? state.done?.at ?? now;
  return Math.max(0, end - stage.startedAt);
}

/** The elapsed column: empty for a stage that never ran or was skipped. */
export function stageElapsedText(stage: StageProgress, state: PipelineState, now: number): string {
  if (stage.status === 'skipped') return '';
  const duration = stageDuration(stage, state, now);
  return duration === undefined ? '' : formatElapsed(duration);
}

/** `port web:3000: nothing listens on 3000 inside web`, or just the name without a detail. */
export function checkText(check: StageCheck): string {
  return check.detail === undefined || check.detail === '' ? check.name : `${check.name}: ${check.detail}`;
}

/** `1 check passed`, `3 checks passed`. */
export function passedChecksText(count: number): string {
  return `${count} ${count === 1 ? 'check' : 'checks'} passed`;
}
