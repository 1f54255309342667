/**
 * The live terminal view of progress (Ink on stderr): throttled redraws, a ticker only while work
 * is in progress, the final frame left on screen at close. Loaded on demand by render-progress.ts.
 */
import { render } from 'ink';
import type { FunctionComponent } from 'react';
import { createElement } from 'react';
import type { ProgressStreams, Renderer, ViewModel } from './render-progress.js';

/** Fewest ms between two redraws: at most ~10 frames a second. */
const MIN_REDRAW_INTERVAL_MS = 100;
/** How often elapsed times advance on screen while nothing else happens (ms). */
const TICK_INTERVAL_MS = 1000;
const DEFAULT_COLUMNS = 80;

export function createInkRenderer<E extends { at: number }, S>(
  model: ViewModel<E, S> & { View: FunctionComponent<{ state: S; now: number; columns: number }> },
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
