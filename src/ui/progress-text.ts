/**
 * Words and numbers shared by the Ink view and the plain lines, so both say the same thing.
 */
import type { ServicePhase } from '../events.js';
import type { ProgressState, ServiceProgress } from './progress-store.js';
import { isSettled, phaseStatus } from './progress-store.js';

const PHASE_WORDS: Record<ServicePhase, string> = {
  pending: 'pending',
  building: 'building',
  built: 'built',
  waiting: 'waiting for dependencies',
  creating: 'creating',
  recreating: 'recreating',
  starting: 'starting',
  health: 'waiting for health',
  healthy: 'healthy',
  running: 'running',
  completed: 'completed',
  unchanged: 'unchanged',
  failed: 'failed',
  skipped: 'skipped',
  stopping: 'stopping',
  removed: 'removed',
};

export function phaseWords(phase: ServicePhase): string {
  return PHASE_WORDS[phase];
}

/**
 * A duration (ms) as a stopwatch shows it, truncated, never rounded up: `0.0s`, `4.2s`, `59.9s`,
 * `1m05s`, `1h02m`.
 */
export function formatElapsed(ms: number): string {
  const clamped = Math.max(0, ms);
  const tenths = Math.floor(clamped / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.floor(clamped / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${pad2(Math.floor(seconds / 60) % 60)}m`;
}

export interface ServiceTiming {
  /** ms in the current phase. */
  inPhase: number;
  /** ms since the service's work began. */
  total: number;
}

/**
 * Elapsed times of one service at `now` (ms, the events' clock). Time stops when the service
 * settles or the operation is done, so a final frame does not keep counting. Undefined while
 * the service is pending.
 */
export function serviceTiming(service: ServiceProgress, state: ProgressState, now: number): ServiceTiming | undefined {
  if (service.startedAt === undefined) return undefined;
  const end = service.settledAt ?? state.done?.at ?? now;
  return {
    inPhase: Math.max(0, end - service.phaseSince),
    total: Math.max(0, end - service.startedAt),
  };
}

/** The elapsed column: `3.1s / 7.4s` (phase / total) while in progress, the total once settled. */
export function elapsedText(service: ServiceProgress, state: ProgressState, now: number): string {
  const timing = serviceTiming(service, state, now);
  if (timing === undefined) return '';
  // Unchanged and skipped services did no work worth timing.
  if (phaseStatus(service.phase) === 'idle') return '';
  if (isSettled(service.phase)) return formatElapsed(timing.total);
  if (service.phaseSince === service.startedAt) return formatElapsed(timing.inPhase);
  return `${formatElapsed(timing.inPhase)} / ${formatElapsed(timing.total)}`;
}

/** `up shop (env local)`; the env part is left out for the base definition (empty env). */
export function operationTitle(operation: NonNullable<ProgressState['operation']>): string {
  return `${operation.kind} ${operation.project}${operation.env === '' ? '' : ` (env ${operation.env})`}`;
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}
