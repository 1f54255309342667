/**
 * The monitor on a terminal: Ink in the alternate screen (restored on exit, also on an error or a
 * signal: Ink hooks the process's exit), keys read in raw mode and turned into intents, redraws
 * only when the state changed and at most every `MIN_REDRAW_INTERVAL_MS`. No ticker: an idle
 * dashboard draws once per engine reading (every 2 s) and otherwise sleeps.
 */
import { emitKeypressEvents } from 'node:readline';
import { render } from 'ink';
import { createElement } from 'react';
import { MonitorView } from './Monitor.js';
import { keyIntent, type KeyIntent, type KeyPress } from './monitor-keys.js';
import type { MonitorStore } from './monitor-store.js';

/** Fewest ms between two frames: at most 4 a second, however fast logs come (each frame costs ~10-20 ms of CPU). */
export const MIN_REDRAW_INTERVAL_MS = 250;

export interface MonitorTerminal {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

export interface MonitorUi {
  close(): Promise<void>;
}

export function startMonitorUi(store: MonitorStore, terminal: MonitorTerminal, onIntent: (intent: KeyIntent) => void, clock: () => number = Date.now): MonitorUi {
  const { stdout, stdin } = terminal;
  const size = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const view = () => createElement(MonitorView, { state: store.state(), ...size() });
  const ink = render(view(), {
    stdout,
    stdin,
    alternateScreen: true,
    interactive: true,
    exitOnCtrlC: false,
    patchConsole: false,
    incrementalRendering: true,
    maxFps: Math.round(1000 / MIN_REDRAW_INTERVAL_MS),
  });

  let drawn = store.state();
  let drawnSize = size();
  let lastRedrawAt = clock();
  let pending: NodeJS.Timeout | undefined;
  let closed = false;
  const redraw = (): void => {
    pending = undefined;
    if (closed) return;
    const now = size();
    if (drawn === store.state() && now.columns === drawnSize.columns && now.rows === drawnSize.rows) return;
    drawn = store.state();
    drawnSize = now;
    lastRedrawAt = clock();
    ink.rerender(view());
  };
  const requestRedraw = (): void => {
    if (closed || pending !== undefined) return;
    pending = setTimeout(redraw, Math.max(0, lastRedrawAt + MIN_REDRAW_INTERVAL_MS - clock()));
  };
  const unsubscribe = store.subscribe(requestRedraw);
  stdout.on('resize', requestRedraw);

  emitKeypressEvents(stdin);
  const wasRaw = stdin.isRaw;
  stdin.setRawMode?.(true);
  stdin.resume();
  const onKey = (input: string | undefined, key: { name?: string; ctrl?: boolean; shift?: boolean; sequence?: string } | undefined): void => {
    const press: KeyPress = { input: input ?? (key?.sequence && key.sequence.length === 1 ? key.sequence : undefined), name: key?.name, ctrl: key?.ctrl ?? false, shift: key?.shift ?? false };
    onIntent(keyIntent(store.state(), press));
  };
  stdin.on('keypress', onKey);

  return {
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (pending !== undefined) clearTimeout(pending);
      unsubscribe();
      stdout.off('resize', requestRedraw);
      stdin.off('keypress', onKey);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      const exited = ink.waitUntilExit().catch(() => undefined);
      ink.unmount();
      await exited;
    },
  };
}
