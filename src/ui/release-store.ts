/**
 * The state of `envctl release`'s live view, folded from the controller's notices (pure). The
 * gate's question travels as an event too: the view shows it and answers through the callback.
 */
import type { ReleaseNotice } from '../release/controller.js';
import type { Weights } from '../proxy/types.js';
import { sanitizeLine } from './sanitize.js';

export type ReleaseViewEvent =
  | { type: 'notice'; at: number; notice: ReleaseNotice }
  | { type: 'ask'; at: number; question: string; answer: (yes: boolean) => void }
  | { type: 'answered'; at: number }
  | { type: 'done'; at: number; ok: boolean; cancelled: boolean; summary: string };

export interface ReleaseViewState {
  release: string | undefined;
  startedAt: number | undefined;
  step: number;
  weights: Weights;
  /** The latest progress line of the current step. */
  progress: string | undefined;
  /** The judge's latest verdict line. */
  verdict: string | undefined;
  /** Transitions and warnings, newest last (at most `MAX_EVENTS`). */
  events: Array<{ at: number; text: string; warning: boolean }>;
  ask: { question: string; answer: (yes: boolean) => void } | undefined;
  done: { ok: boolean; cancelled: boolean; summary: string } | undefined;
}

const MAX_EVENTS = 8;

export function initialReleaseState(): ReleaseViewState {
  return { release: undefined, startedAt: undefined, step: 0, weights: { canary: 0, baseline: 0, prod: 100 }, progress: undefined, verdict: undefined, events: [], ask: undefined, done: undefined };
}

export function foldReleaseEvent(state: ReleaseViewState, event: ReleaseViewEvent): ReleaseViewState {
  switch (event.type) {
    case 'ask':
      return { ...state, ask: { question: sanitizeLine(event.question), answer: event.answer } };
    case 'answered':
      return { ...state, ask: undefined };
    case 'done':
      return { ...state, ask: undefined, done: { ok: event.ok, cancelled: event.cancelled, summary: sanitizeLine(event.summary) } };
    case 'notice': {
      const { notice } = event;
      const text = sanitizeLine(notice.message);
      const base = { ...state, release: state.release ?? (notice.release || undefined), startedAt: state.startedAt ?? event.at, step: notice.step, weights: notice.weights };
      if (notice.event === 'progress') return { ...base, progress: text };
      if (notice.event === 'verdict') return { ...base, verdict: text };
      const events = [...state.events, { at: event.at, text, warning: notice.event === 'warning' }].slice(-MAX_EVENTS);
      // A new step starts its own progress.
      return { ...base, events, progress: notice.event === 'step' ? undefined : base.progress };
    }
  }
}

/** The live view redraws each second while a release runs and nothing is asked. */
export function releaseInProgress(state: ReleaseViewState): boolean {
  return state.done === undefined && state.release !== undefined;
}

/** The plain-mode lines: one per notice, as `release` prints without a terminal. */
export function plainReleaseLines(event: ReleaseViewEvent): string[] {
  if (event.type === 'notice') {
    const stamp = new Date().toISOString().slice(11, 19);
    return [`${stamp} ${event.notice.release ? `${event.notice.release} ` : ''}${sanitizeLine(event.notice.message)}`];
  }
  if (event.type === 'ask') return [sanitizeLine(event.question)];
  return [];
}
