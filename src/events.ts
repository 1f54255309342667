/**
 * Every event the core emits, as one discriminated union. Core code emits; renderers (Ink on a
 * TTY, plain lines, JSON) consume. `at` is milliseconds since the operation started.
 */

/** Where one service is in `up`, in the order it normally moves through them. */
export type ServicePhase =
  | 'pending'
  | 'building'
  | 'built'
  | 'waiting'
  | 'creating'
  | 'recreating'
  | 'starting'
  | 'health'
  | 'healthy'
  | 'running'
  | 'completed'
  | 'unchanged'
  | 'failed'
  | 'skipped'
  | 'stopping'
  | 'removed';

export type EnvctlEvent =
  | { type: 'operation'; at: number; operation: 'up' | 'down'; project: string; env: string; services: string[] }
  | { type: 'service'; at: number; service: string; phase: ServicePhase; detail?: string }
  | { type: 'build-log'; at: number; service: string; line: string }
  | { type: 'resource'; at: number; kind: 'network' | 'volume' | 'container'; name: string; action: 'created' | 'removed' | 'kept' }
  | { type: 'warning'; at: number; message: string }
  | { type: 'done'; at: number; ok: boolean; cancelled: boolean; summary: string };

export const STAGES = ['build', 'integration', 'perf', 'staging', 'release'] as const;
export type StageName = (typeof STAGES)[number];
export type StageStatus = 'pending' | 'running' | 'passed' | 'failed' | 'skipped';

/** Events of `envctl pipeline` (the stages' own provisioning also emits the `up`/`down` events above). */
export type PipelineEvent =
  | { type: 'pipeline'; at: number; runId: string; project: string; env: string; stages: StageName[] }
  | { type: 'stage'; at: number; stage: StageName; status: StageStatus; detail?: string }
  /** One line of a stage's live output (a command's stdout/stderr, provisioning progress). */
  | { type: 'stage-output'; at: number; stage: StageName; line: string }
  /** One check, threshold or test verdict inside a stage. */
  | { type: 'check'; at: number; stage: StageName; name: string; status: 'passed' | 'failed'; detail?: string }
  | { type: 'pipeline-done'; at: number; ok: boolean; cancelled: boolean; summary: string };

export type EventSink = (event: EnvctlEvent) => void;
/** Receives everything a pipeline run emits, its stages' provisioning included. */
export type PipelineSink = (event: EnvctlEvent | PipelineEvent) => void;
