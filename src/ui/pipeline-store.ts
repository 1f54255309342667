/**
 * The view state of a running `envctl pipeline`: events folded into what the renderers show. Pure:
 * the input state is never mutated; times are the pipeline events' own `at` (ms since the run
 * began).
 *
 * A stage that provisions an environment also forwards that environment's `up`/`down` events.
 * They are folded into `provisioning` (the same state `up` shows) and become output lines of the
 * stage that is running, worded as the plain `up` lines are (`db  healthy (2.1s)`). Their `at` is
 * used only inside `provisioning`, never for stage times: it may count from the start of the
 * provisioning rather than of the run. An inner `done` ends the provisioning, never the pipeline.
 *
 * Every text field is already terminal-safe (sanitised on the way in), so views print it as is.
 */
import type { EnvctlEvent, PipelineEvent, PipelineSink, StageName, StageStatus } from '../events.js';
import { plainProgressLines } from './plain-progress.js';
import type { PhaseStatus, ProgressState } from './progress-store.js';
import { foldEvent, initialProgressState } from './progress-store.js';
import { sanitizeLine } from './sanitize.js';

/** How many trailing output lines a stage keeps for display. */
export const STAGE_OUTPUT_LINES = 8;

/** Anything a pipeline run emits: its own events and its environments' `up`/`down` events. */
export type PipelineSinkEvent = Parameters<PipelineSink>[0];

export interface StageCheck {
  readonly name: string;
  readonly status: 'passed' | 'failed';
  /** e.g. `nothing listens on 3000 inside web`; undefined when the check gave none. */
  readonly detail: string | undefined;
}

export interface StageProgress {
  readonly name: StageName;
  readonly status: StageStatus;
  /** e.g. `npm test exited 1`; undefined when the last stage event had none. */
  readonly detail: string | undefined;
  /** `at` (ms) when the stage first started running; undefined while it has not run. */
  readonly startedAt: number | undefined;
  /** `at` (ms) when it passed, failed or was skipped; undefined while pending or running. */
  readonly endedAt: number | undefined;
  /** In the order they were first reported; a check reported again replaces its earlier verdict. */
  readonly checks: readonly StageCheck[];
  /**
   * The last `STAGE_OUTPUT_LINES` output lines, oldest first. Kept while running and after a
   * failure (the lines say why); cleared when the stage passes or is skipped.
   */
  readonly output: readonly string[];
}

export interface PipelineState {
  readonly run:
    | { readonly runId: string; readonly project: string; readonly env: string; readonly startedAt: number }
    | undefined;
  /** In run order (the `pipeline` event); stages first seen later are appended. */
  readonly stages: readonly StageProgress[];
  /** The stage that started running last: forwarded `up`/`down` events belong to it. */
  readonly currentStage: StageName | undefined;
  /**
   * The `up`/`down` of the environment being provisioned (or torn down) by the current stage; its
   * times are the forwarded events' own `at`.
   */
  readonly provisioning: ProgressState;
  /** Forwarded warnings, in order. */
  readonly warnings: readonly string[];
  readonly done: { readonly ok: boolean; readonly cancelled: boolean; readonly summary: string; readonly at: number } | undefined;
}

const STAGE_PHASE_STATUS: Record<StageStatus, PhaseStatus> = {
  pending: 'pending',
  running: 'active',
  passed: 'ready',
  failed: 'failed',
  skipped: 'idle',
};

/** What a stage status means for markers and colours: the same scale as a service's phase. */
export function stagePhaseStatus(status: StageStatus): PhaseStatus {
  return STAGE_PHASE_STATUS[status];
}

export function initialPipelineState(): PipelineState {
  return {
    run: undefined,
    stages: [],
    currentStage: undefined,
    provisioning: initialProgressState(),
    warnings: [],
    done: undefined,
  };
}

export function foldPipelineEvent(state: PipelineState, event: PipelineSinkEvent): PipelineState {
  switch (event.type) {
    case 'pipeline':
      // A new run starts from scratch: nothing of a previous one carries over.
      return {
        ...initialPipelineState(),
        run: { runId: sanitizeLine(event.runId), project: sanitizeLine(event.project), env: sanitizeLine(event.env), startedAt: event.at },
        stages: [...new Set(event.stages)].map(pendingStage),
      };
    case 'stage': {
      const updated = updateStage(state, event.stage, (stage) => enterStatus(stage, event.status, event.detail, event.at));
      const starts = event.status === 'running' && state.stages.find((stage) => stage.name === event.stage)?.status !== 'running';
      if (!starts) return updated;
      // A stage's environments are its own: the provisioning view starts empty (the runner may
      // provision without an `operation` event, which would otherwise reset it).
      return { ...updated, currentStage: event.stage, provisioning: initialProgressState() };
    }
    case 'stage-output':
      return appendOutput(state, event.stage, [sanitizeLine(event.line)]);
    case 'check':
      return updateStage(state, event.stage, (stage) => recordCheck(stage, event));
    case 'pipeline-done':
      return { ...state, done: { ok: event.ok, cancelled: event.cancelled, summary: sanitizeLine(event.summary), at: event.at } };
    default:
      return foldForwarded(state, event);
  }
}

const PIPELINE_EVENT_TYPES: ReadonlySet<PipelineSinkEvent['type']> = new Set<PipelineEvent['type']>([
  'pipeline',
  'stage',
  'stage-output',
  'check',
  'pipeline-done',
]);

/** The pipeline's own events, as opposed to the `up`/`down` events of the environments it provisions. */
export function isPipelineEvent(event: PipelineSinkEvent): event is PipelineEvent {
  return PIPELINE_EVENT_TYPES.has(event.type);
}

/** True while a stage is running and the run has not finished: elapsed times advance. */
export function hasRunningStage(state: PipelineState): boolean {
  return state.done === undefined && state.stages.some((stage) => stage.status === 'running');
}

/**
 * A forwarded `up`/`down` event as plain `up` lines (format: plain-progress.ts), computed from
 * the provisioning state around it. Empty for an event that changes nothing worth a line.
 */
export function forwardedLines(event: EnvctlEvent, before: PipelineState, after: PipelineState): string[] {
  return plainProgressLines(event, before.provisioning, after.provisioning);
}

function foldForwarded(state: PipelineState, event: EnvctlEvent): PipelineState {
  const folded: PipelineState = {
    ...state,
    provisioning: foldEvent(state.provisioning, event),
    warnings: event.type === 'warning' ? [...state.warnings, sanitizeLine(event.message)] : state.warnings,
  };
  // Warnings have their own lines below the stages; everything else is the stage's live output.
  const current = state.stages.find((stage) => stage.name === state.currentStage);
  if (current?.status !== 'running' || event.type === 'warning') return folded;
  return appendOutput(folded, current.name, forwardedLines(event, state, folded));
}

function appendOutput(state: PipelineState, name: StageName, lines: readonly string[]): PipelineState {
  const shown = lines.filter((line) => line !== '');
  if (shown.length === 0) return state;
  return updateStage(state, name, (stage) => ({ ...stage, output: [...stage.output, ...shown].slice(-STAGE_OUTPUT_LINES) }));
}

function enterStatus(stage: StageProgress, status: StageStatus, detail: string | undefined, at: number): StageProgress {
  const settled = status !== 'pending' && status !== 'running';
  const sameStatus = status === stage.status;
  return {
    ...stage,
    status,
    detail: detail === undefined ? undefined : sanitizeLine(detail),
    startedAt: stage.startedAt ?? (status === 'running' ? at : undefined),
    // A repeated settled status (a detail update) keeps its end time.
    endedAt: settled ? (sameStatus && stage.endedAt !== undefined ? stage.endedAt : at) : undefined,
    output: status === 'running' || status === 'failed' ? stage.output : [],
  };
}

function recordCheck(stage: StageProgress, event: Extract<PipelineEvent, { type: 'check' }>): StageProgress {
  const check: StageCheck = {
    name: sanitizeLine(event.name),
    status: event.status,
    detail: event.detail === undefined ? undefined : sanitizeLine(event.detail),
  };
  const index = stage.checks.findIndex((existing) => existing.name === check.name);
  const checks = index === -1 ? [...stage.checks, check] : stage.checks.map((existing, i) => (i === index ? check : existing));
  return { ...stage, checks };
}

function updateStage(state: PipelineState, name: StageName, update: (stage: StageProgress) => StageProgress): PipelineState {
  const index = state.stages.findIndex((stage) => stage.name === name);
  if (index === -1) return { ...state, stages: [...state.stages, update(pendingStage(name))] };
  return { ...state, stages: state.stages.map((stage, i) => (i === index ? update(stage) : stage)) };
}

function pendingStage(name: StageName): StageProgress {
  return { name, status: 'pending', detail: undefined, startedAt: undefined, endedAt: undefined, checks: [], output: [] };
}
