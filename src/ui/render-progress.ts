/**
 * The one way commands show progress: pick a mode once, at the edge, get an event sink. All
 * progress goes to stderr; stdout stays for results (`envctl up --json | jq` works).
 *
 * - tty:   the Ink view (UpProgress, PipelineProgress), redrawn as events arrive, at most ~10
 *          times a second, and once a second while work is in progress so elapsed times advance.
 *          close() leaves the final frame on screen.
 * - plain: one line per meaningful event, no colour, no cursor movement (formats:
 *          plain-progress.ts, plain-pipeline.ts).
 * - json:  nothing on stderr (the command prints its result on stdout), unless ENVCTL_EVENTS=jsonl:
 *          then every event as one JSON line on stderr, for tools that follow progress.
 *
 * `up`/`down` and `pipeline` differ only in their events, state and views (a ProgressModel);
 * the modes, throttling and clock are the same code.
 */
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { FunctionComponent } from 'react';
import type { EnvctlEvent, EventSink, PipelineSink } from '../events.js';
import type { PipelineSinkEvent, PipelineState } from './pipeline-store.js';
import { foldPipelineEvent, hasRunningStage, initialPipelineState, isPipelineEvent } from './pipeline-store.js';
import { plainPipelineLines } from './plain-pipeline.js';
import { plainProgressLines } from './plain-progress.js';
import { foldReleaseEvent, initialReleaseState, plainReleaseLines, releaseInProgress, type ReleaseViewEvent, type ReleaseViewState } from './release-store.js';
import type { ProgressState } from './progress-store.js';
import { foldEvent, hasWorkInProgress, initialProgressState } from './progress-store.js';

export type ProgressMode = 'tty' | 'plain' | 'json';

export interface ProgressStreams {
  stderr: NodeJS.WriteStream | Writable;
  /** Terminal width; default: the stream's own `columns` (followed on resize), else 80. */
  columns?: number;
}

export interface ProgressRendererOptions {
  /** Where ENVCTL_EVENTS is read; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Monotonic clock in ms; default performance.now. Throttles redraws and advances elapsed times between events. */
  clock?: () => number;
}

export interface ProgressRenderer<Sink = EventSink> {
  sink: Sink;
  /** Draws the last state and stops; later events are ignored. Safe to call more than once. */
  close(): Promise<void>;
  /** Resolves once the renderer draws (the terminal view loads its libraries first). */
  ready?: Promise<void>;
}

export type PipelineRenderer = ProgressRenderer<PipelineSink>;

export type Renderer<E> = ProgressRenderer<(event: E) => void>;

/** What the renderers need to know about one command's progress. */
export type ViewModel<E extends { at: number }, S> = Omit<ProgressModel<E, S>, 'loadView' | 'plainLines'>;

interface ProgressModel<E extends { at: number }, S> {
  initial(): S;
  fold(state: S, event: E): S;
  /** True while elapsed times advance on screen: the view is redrawn once a second. */
  inProgress(state: S): boolean;
  /** Whether the event's `at` is on the view's clock (`now`); events that are not do not move it. */
  onViewClock(event: E): boolean;
  /** The Ink view, loaded on demand (only the tty renderer needs it). */
  loadView(): Promise<FunctionComponent<{ state: S; now: number; columns: number }>>;
  plainLines(event: E, before: S, after: S): string[];
}

const UP_DOWN: ProgressModel<EnvctlEvent, ProgressState> = {
  initial: initialProgressState,
  fold: foldEvent,
  inProgress: hasWorkInProgress,
  onViewClock: () => true,
  loadView: async () => (await import('./UpProgress.js')).UpProgress,
  plainLines: plainProgressLines,
};

// Forwarded up/down events may count from the start of the provisioning, not of the run: only
// the pipeline's own events set the clock of the stage times.
const PIPELINE: ProgressModel<PipelineSinkEvent, PipelineState> = {
  initial: initialPipelineState,
  fold: foldPipelineEvent,
  inProgress: hasRunningStage,
  onViewClock: isPipelineEvent,
  loadView: async () => (await import('./PipelineProgress.js')).PipelineProgress,
  plainLines: plainPipelineLines,
};


export function createProgressRenderer(
  mode: ProgressMode,
  streams: ProgressStreams,
  options: ProgressRendererOptions = {},
): ProgressRenderer {
  return createRenderer(UP_DOWN, mode, streams, options);
}

/** The same modes for `envctl pipeline`: its stages, checks and output, its environments' progress folded in. */
export function createPipelineRenderer(
  mode: ProgressMode,
  streams: ProgressStreams,
  options: ProgressRendererOptions = {},
): PipelineRenderer {
  return createRenderer(PIPELINE, mode, streams, options);
}

const RELEASE: ProgressModel<ReleaseViewEvent, ReleaseViewState> = {
  initial: initialReleaseState,
  fold: foldReleaseEvent,
  inProgress: releaseInProgress,
  onViewClock: () => true,
  loadView: async () => (await import('./ReleaseProgress.js')).ReleaseProgress,
  plainLines: plainReleaseLines,
};

/** The same modes for `envctl release`: its transitions, step progress, verdicts and a gate's question. */
export function createReleaseRenderer(mode: ProgressMode, streams: ProgressStreams, options: ProgressRendererOptions = {}): Renderer<ReleaseViewEvent> {
  return createRenderer(RELEASE, mode, streams, options);
}

function createRenderer<E extends { at: number }, S>(
  model: ProgressModel<E, S>,
  mode: ProgressMode,
  streams: ProgressStreams,
  options: ProgressRendererOptions,
): Renderer<E> {
  switch (mode) {
    case 'tty':
      return createLazyInkRenderer(model, streams, options.clock ?? (() => performance.now()));
    case 'plain':
      return createPlainRenderer(model, streams.stderr);
    case 'json':
      return (options.env ?? process.env).ENVCTL_EVENTS === 'jsonl' ? createJsonLinesRenderer(streams.stderr) : silentRenderer();
  }
}

/**
 * Ink and React are loaded only when a terminal is drawn on (they are most of the CLI's start-up
 * cost): events that arrive meanwhile are replayed once the view is ready.
 */
function createLazyInkRenderer<E extends { at: number }, S>(
  model: ProgressModel<E, S>,
  streams: ProgressStreams,
  clock: () => number,
): Renderer<E> {
  const buffered: E[] = [];
  let inner: Renderer<E> | undefined;
  let closing: Promise<void> | undefined;
  const ready = Promise.all([import('./ink-renderer.js'), model.loadView()])
    .then(([module, View]) => module.createInkRenderer({ ...model, View }, streams, clock))
    // Progress must never take a command down: if the live view cannot start, print plain lines.
    .catch(() => createPlainRenderer(model, streams.stderr))
    .then((renderer) => {
      inner = renderer;
      for (const event of buffered.splice(0)) inner.sink(event);
    });
  return {
    sink(event: E): void {
      if (closing !== undefined) return;
      if (inner) inner.sink(event);
      else buffered.push(event);
    },
    close(): Promise<void> {
      closing ??= ready.then(() => inner!.close());
      return closing;
    },
    ready,
  };
}

function createPlainRenderer<E extends { at: number }, S>(model: ProgressModel<E, S>, stderr: ProgressStreams['stderr']): Renderer<E> {
  let state = model.initial();
  let closed = false;
  return {
    sink(event: E): void {
      if (closed) return;
      const next = model.fold(state, event);
      const lines = model.plainLines(event, state, next);
      state = next;
      if (lines.length > 0) stderr.write(`${lines.join('\n')}\n`);
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

function createJsonLinesRenderer(stderr: ProgressStreams['stderr']): Renderer<{ at: number }> {
  let closed = false;
  return {
    sink(event: { at: number }): void {
      if (!closed) stderr.write(`${eventJsonLine(event)}\n`);
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

function silentRenderer(): Renderer<unknown> {
  return { sink: () => undefined, close: () => Promise.resolve() };
}

/**
 * One event as a JSON line. JSON.stringify escapes C0 controls (ESC among them) but not DEL or C1
 * (0x9b is a one-byte CSI to some terminals); escape those too, losslessly, since stderr is often
 * a terminal.
 */
export function eventJsonLine(event: object): string {
  return JSON.stringify(event).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
