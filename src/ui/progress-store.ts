/**
 * The view state of a running `up`/`down`: events folded into what the renderers show. Pure: the
 * input state is never mutated, the clock is the events' own `at` (ms since the operation began).
 *
 * Every text field is already terminal-safe (sanitised on the way in), so views print it as is.
 */
import type { EnvctlEvent, ServicePhase } from '../events.js';
import { sanitizeLine } from './sanitize.js';

/** How many trailing build-log lines a service keeps for display. */
export const BUILD_LOG_LINES = 3;

/** What a phase means for the person watching: drives markers, colours and elapsed times. */
export type PhaseStatus =
  /** Not started yet. */
  | 'pending'
  /** Work in progress. */
  | 'active'
  /** Settled and fine: healthy, running, completed, removed. */
  | 'ready'
  | 'failed'
  /** Settled without work: unchanged, skipped. */
  | 'idle';

const PHASE_STATUS: Record<ServicePhase, PhaseStatus> = {
  pending: 'pending',
  building: 'active',
  built: 'active',
  waiting: 'active',
  creating: 'active',
  recreating: 'active',
  starting: 'active',
  health: 'active',
  stopping: 'active',
  healthy: 'ready',
  running: 'ready',
  completed: 'ready',
  removed: 'ready',
  failed: 'failed',
  unchanged: 'idle',
  skipped: 'idle',
};

export function phaseStatus(phase: ServicePhase): PhaseStatus {
  return PHASE_STATUS[phase];
}

/** A phase in which nothing more happens unless a new event says so. */
export function isSettled(phase: ServicePhase): boolean {
  const status = phaseStatus(phase);
  return status === 'ready' || status === 'failed' || status === 'idle';
}

export interface ServiceProgress {
  readonly name: string;
  readonly phase: ServicePhase;
  /** e.g. `exited (1)`, `changed: environment`; undefined when the last event had none. */
  readonly detail: string | undefined;
  /** `at` (ms) when the service entered its current phase. */
  readonly phaseSince: number;
  /** `at` (ms) of the service's first phase after `pending`; undefined while pending. */
  readonly startedAt: number | undefined;
  /** `at` (ms) when it reached a settled phase; undefined while work goes on. */
  readonly settledAt: number | undefined;
  /**
   * The last `BUILD_LOG_LINES` build output lines, oldest first. Kept while building and after a
   * build that failed (the lines say why); cleared when the service moves on otherwise.
   */
  readonly buildLog: readonly string[];
}

export interface ProgressState {
  readonly operation:
    | { readonly kind: 'up' | 'down'; readonly project: string; readonly env: string; readonly startedAt: number }
    | undefined;
  /** In the order of the `operation` event; services first seen later are appended. */
  readonly services: readonly ServiceProgress[];
  /** Networks, volumes and containers together. */
  readonly resources: { readonly created: number; readonly removed: number; readonly kept: number };
  readonly warnings: readonly string[];
  readonly done: { readonly ok: boolean; readonly cancelled: boolean; readonly summary: string; readonly at: number } | undefined;
}

export function initialProgressState(): ProgressState {
  return {
    operation: undefined,
    services: [],
    resources: { created: 0, removed: 0, kept: 0 },
    warnings: [],
    done: undefined,
  };
}

export function foldEvent(state: ProgressState, event: EnvctlEvent): ProgressState {
  switch (event.type) {
    case 'operation':
      // A new operation starts from scratch: nothing of a previous one carries over.
      return {
        ...initialProgressState(),
        operation: {
          kind: event.operation,
          project: sanitizeLine(event.project),
          env: sanitizeLine(event.env),
          startedAt: event.at,
        },
        services: uniqueNames(event.services).map((name) => pendingService(name, event.at)),
      };
    case 'service':
      return updateService(state, event.service, event.at, (service) => enterPhase(service, event.phase, event.detail, event.at));
    case 'build-log': {
      const line = sanitizeLine(event.line);
      if (line === '') return state;
      return updateService(state, event.service, event.at, (service) => ({
        ...service,
        buildLog: [...service.buildLog, line].slice(-BUILD_LOG_LINES),
      }));
    }
    case 'resource':
      return { ...state, resources: { ...state.resources, [event.action]: state.resources[event.action] + 1 } };
    case 'warning':
      return { ...state, warnings: [...state.warnings, sanitizeLine(event.message)] };
    case 'done':
      return { ...state, done: { ok: event.ok, cancelled: event.cancelled, summary: sanitizeLine(event.summary), at: event.at } };
  }
}

/** True while some service is still being worked on and the operation has not finished. */
export function hasWorkInProgress(state: ProgressState): boolean {
  return state.done === undefined && state.services.some((service) => phaseStatus(service.phase) === 'active');
}

function enterPhase(service: ServiceProgress, phase: ServicePhase, detail: string | undefined, at: number): ServiceProgress {
  const samePhase = phase === service.phase;
  const keepBuildLog = phase === 'building' || (phase === 'failed' && service.phase === 'building');
  return {
    ...service,
    phase,
    detail: detail === undefined ? undefined : sanitizeLine(detail),
    // A repeated phase (a detail update such as a health retry) keeps its start time.
    phaseSince: samePhase ? service.phaseSince : at,
    startedAt: service.startedAt ?? (phase === 'pending' ? undefined : at),
    settledAt: isSettled(phase) ? (samePhase && service.settledAt !== undefined ? service.settledAt : at) : undefined,
    buildLog: keepBuildLog ? service.buildLog : [],
  };
}

function updateService(
  state: ProgressState,
  name: string,
  at: number,
  update: (service: ServiceProgress) => ServiceProgress,
): ProgressState {
  const safeName = sanitizeLine(name);
  const index = state.services.findIndex((service) => service.name === safeName);
  if (index === -1) return { ...state, services: [...state.services, update(pendingService(safeName, at))] };
  return { ...state, services: state.services.map((service, i) => (i === index ? update(service) : service)) };
}

function pendingService(name: string, at: number): ServiceProgress {
  return { name, phase: 'pending', detail: undefined, phaseSince: at, startedAt: undefined, settledAt: undefined, buildLog: [] };
}

function uniqueNames(names: readonly string[]): string[] {
  return [...new Set(names.map(sanitizeLine))];
}
