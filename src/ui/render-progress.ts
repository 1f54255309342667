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
import { render } from 'ink';
import type { FunctionComponent } from 'react';
import { createElement } from 'react';
import type { EnvctlEvent, EventSink, PipelineSink } from '../events.js';
import { PipelineProgress } from './PipelineProgress.js';
import type { PipelineSinkEvent, PipelineState } from './pipeline-store.js';
import { foldPipelineEvent, hasRunningStage, initialPipelineState, isPipelineEvent } from './pipeline-store.js';
import { plainPipelineLines } from './plain-pipeline.js';
import { plainProgressLines } from './plain-progress.js';
import type { ProgressState } from './progress-store.js';
import { foldEvent, hasWorkInProgress, initialProgressState } from './progress-store.js';
import { UpProgress } from './UpProgress.js';

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
}

export type PipelineRenderer = ProgressRenderer<PipelineSink>;

type Renderer<E> = ProgressRenderer<(event: E) => void>;

/** What the renderers need to know about one command's progress. */
interface ProgressModel<E extends PipelineSinkEvent, S> {
  initial(): S;
  fold(state: S, event: E): S;
  /** True while elapsed times advance on screen: the view is redrawn once a second. */
  inProgress(state: S): boolean;
  /** Whether the event's `at` is on the view's clock (`now`); events that are not do not move it. */
  onViewClock(event: E): boolean;
  View: FunctionComponent<{ state: S; now: number; columns: number }>;
  plainLines(event: E, before: S, after: S): string[];
}

const UP_DOWN: ProgressModel<EnvctlEvent, ProgressState> = {
  initial: initialProgressState,
  fold: foldEvent,
  inProgress: hasWorkInProgress,
  onViewClock: () => true,
  View: UpProgress,
  plainLines: plainProgressLines,
};

// Forwarded up/down events may count from the start of the provisioning, not of the run: only
// the pipeline's own events set the clock of the stage times.
const PIPELINE: ProgressModel<PipelineSinkEvent, PipelineState> = {
  initial: initialPipelineState,
  fold: foldPipelineEvent,
  inProgress: hasRunningStage,
  onViewClock: isPipelineEvent,
  View: PipelineProgress,
  plainLines: plainPipelineLines,
};

/** Fewest ms between two redraws: at most ~10 frames a second. */
const MIN_REDRAW_INTERVAL_MS = 100;
/** How often elapsed times advance on screen while nothing else happens (ms). */
const TICK_INTERVAL_MS = 1000;
const DEFAULT_COLUMNS = 80;

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

function createRenderer<E extends PipelineSinkEvent, S>(
  model: ProgressModel<E, S>,
  mode: ProgressMode,
  streams: ProgressStreams,
  options: ProgressRendererOptions,
): Renderer<E> {
  switch (mode) {
    case 'tty':
      return createInkRenderer(model, streams, options.clock ?? (() => performance.now()));
    case 'plain':
      return createPlainRenderer(model, streams.stderr);
    case 'json':
      return (options.env ?? process.env).ENVCTL_EVENTS === 'jsonl' ? createJsonLinesRenderer(streams.stderr) : silentRenderer();
  }
}

function createInkRenderer<E extends PipelineSinkEvent, S>(
  model: ProgressModel<E, S>,
  streams: ProgressStreams,
  clock: () => number,
): Renderer<E> {
  const { stderr } = streams;
  let state = model.initial();
  let closing: Promise<void> | undefined;
  let pendingRedraw: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let lastRedrawAt = Number.NEGATIVE_INFINITY;
  // Maps the clock onto the events' clock (`at`): the latest event's `at` plus the time since it arrived.
  let anchor: { at: number; clockAt: number } | undefined;
  let lastNow = 0;

  const eventNow = (): number => {
    if (anchor === undefined) return 0;
    lastNow = Math.max(lastNow, anchor.at + (clock() - anchor.clockAt));
    return lastNow;
  };
  const columns = (): number => streams.columns ?? (('columns' in stderr && stderr.columns) || DEFAULT_COLUMNS);
  const view = () => createElement(model.View, { state, now: eventNow(), columns: columns() });

  const ink = render(view(), { stdout: stderr, stderr, patchConsole: false, exitOnCtrlC: false, interactive: true });

  const redraw = (): void => {
    pendingRedraw = undefined;
    lastRedrawAt = clock();
    ink.rerender(view());
  };
  const requestRedraw = (): void => {
    if (closing !== undefined || pendingRedraw !== undefined) return;
    const wait = lastRedrawAt + MIN_REDRAW_INTERVAL_MS - clock();
    if (wait <= 0) redraw();
    else pendingRedraw = setTimeout(redraw, wait).unref();
  };
  // The ticker runs only while something is in progress: a finished or idle view never changes.
  const updateTicker = (): void => {
    const needed = closing === undefined && model.inProgress(state);
    if (needed && ticker === undefined) ticker = setInterval(requestRedraw, TICK_INTERVAL_MS).unref();
    if (!needed && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
  const onResize = (): void => requestRedraw();
  if (streams.columns === undefined) stderr.on('resize', onResize);

  return {
    sink(event: E): void {
      if (closing !== undefined) return;
      if (model.onViewClock(event)) anchor = { at: event.at, clockAt: clock() };
      state = model.fold(state, event);
      updateTicker();
      requestRedraw();
    },
    close(): Promise<void> {
      if (closing !== undefined) return closing;
      if (pendingRedraw !== undefined) clearTimeout(pendingRedraw);
      pendingRedraw = undefined;
      closing = ink.waitUntilExit().then(() => undefined);
      updateTicker();
      stderr.off('resize', onResize);
      ink.rerender(view());
      ink.unmount();
      return closing;
    },
  };
}

function createPlainRenderer<E extends PipelineSinkEvent, S>(model: ProgressModel<E, S>, stderr: ProgressStreams['stderr']): Renderer<E> {
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

function createJsonLinesRenderer(stderr: ProgressStreams['stderr']): Renderer<PipelineSinkEvent> {
  let closed = false;
  return {
    sink(event: PipelineSinkEvent): void {
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
export function eventJsonLine(event: PipelineSinkEvent): string {
  return JSON.stringify(event).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
