/**
 * The one way commands show progress: pick a mode once, at the edge, get an event sink. All
 * progress goes to stderr; stdout stays for results (`envctl up --json | jq` works).
 *
 * - tty:   the Ink view (UpProgress), redrawn as events arrive, at most ~10 times a second, and
 *          once a second while work is in progress so elapsed times advance. close() leaves the
 *          final frame on screen.
 * - plain: one line per meaningful event, no colour, no cursor movement (format: plain-progress.ts).
 * - json:  nothing on stderr (the command prints its result on stdout), unless ENVCTL_EVENTS=jsonl:
 *          then every event as one JSON line on stderr, for tools that follow progress.
 */
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { render } from 'ink';
import { createElement } from 'react';
import type { EnvctlEvent, EventSink } from '../events.js';
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

export interface ProgressRenderer {
  sink: EventSink;
  /** Draws the last state and stops; later events are ignored. Safe to call more than once. */
  close(): Promise<void>;
}

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
  switch (mode) {
    case 'tty':
      return createInkRenderer(streams, options.clock ?? (() => performance.now()));
    case 'plain':
      return createPlainRenderer(streams.stderr);
    case 'json':
      return (options.env ?? process.env).ENVCTL_EVENTS === 'jsonl' ? createJsonLinesRenderer(streams.stderr) : silentRenderer();
  }
}

function createInkRenderer(streams: ProgressStreams, clock: () => number): ProgressRenderer {
  const { stderr } = streams;
  let state: ProgressState = initialProgressState();
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
  const view = () => createElement(UpProgress, { state, now: eventNow(), columns: columns() });

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
    const needed = closing === undefined && hasWorkInProgress(state);
    if (needed && ticker === undefined) ticker = setInterval(requestRedraw, TICK_INTERVAL_MS).unref();
    if (!needed && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
  const onResize = (): void => requestRedraw();
  if (streams.columns === undefined) stderr.on('resize', onResize);

  return {
    sink(event: EnvctlEvent): void {
      if (closing !== undefined) return;
      anchor = { at: event.at, clockAt: clock() };
      state = foldEvent(state, event);
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

function createPlainRenderer(stderr: ProgressStreams['stderr']): ProgressRenderer {
  let state: ProgressState = initialProgressState();
  let closed = false;
  return {
    sink(event: EnvctlEvent): void {
      if (closed) return;
      const next = foldEvent(state, event);
      const lines = plainProgressLines(event, state, next);
      state = next;
      if (lines.length > 0) stderr.write(`${lines.join('\n')}\n`);
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

function createJsonLinesRenderer(stderr: ProgressStreams['stderr']): ProgressRenderer {
  let closed = false;
  return {
    sink(event: EnvctlEvent): void {
      if (!closed) stderr.write(`${eventJsonLine(event)}\n`);
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

function silentRenderer(): ProgressRenderer {
  return { sink: () => undefined, close: () => Promise.resolve() };
}

/**
 * One event as a JSON line. JSON.stringify escapes C0 controls (ESC among them) but not DEL or C1
 * (0x9b is a one-byte CSI to some terminals); escape those too, losslessly, since stderr is often
 * a terminal.
 */
export function eventJsonLine(event: EnvctlEvent): string {
  return JSON.stringify(event).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
