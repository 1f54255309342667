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

export type EventSink = (event: EnvctlEvent) => void;
