import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyIntent } from '../../../src/ui/monitor-keys.js';
import type { MonitorViewProps } from '../../../src/ui/Monitor.js';
import { MIN_REDRAW_INTERVAL_MS, startMonitorUi } from '../../../src/ui/monitor-app.js';
import { createMonitorStore, initialMonitorState } from '../../../src/ui/monitor-store.js';
import { ENGINE, logs } from './monitor-fixtures.js';
import { fakeTerminal, useFakeClock } from './support.js';

// Count the view's renders and keep its last props: throttling is observable only through them.
const views = vi.hoisted(() => ({ renders: 0, last: undefined as MonitorViewProps | undefined }));
vi.mock('../../../src/ui/Monitor.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/ui/Monitor.js')>();
  return {
    ...original,
    MonitorView: (props: MonitorViewProps) => {
      views.renders += 1;
      views.last = props;
      return original.MonitorView(props);
    },
  };
});

beforeEach(() => {
  views.renders = 0;
  views.last = undefined;
});

/** A keyboard that says it is a terminal; raw mode is recorded. */
function fakeKeyboard() {
  const stream = new PassThrough();
  const modes: boolean[] = [];
  return Object.assign(stream, { isTTY: true, isRaw: false, setRawMode: (mode: boolean) => modes.push(mode), modes });
}

describe('monitor terminal app', () => {
  const { now: clock, advance } = useFakeClock();
  let ui: { close(): Promise<void> } | undefined;
  afterEach(async () => {
    await ui?.close();
    ui = undefined;
  });

  function start(intents: KeyIntent[] = []) {
    const store = createMonitorStore(initialMonitorState('shop', 'local'));
    const terminal = fakeTerminal({ columns: 100, rows: 30 });
    const keyboard = fakeKeyboard();
    ui = startMonitorUi(store, { stdout: terminal.stream as unknown as NodeJS.WriteStream, stdin: keyboard as unknown as NodeJS.ReadStream }, (intent) => intents.push(intent), clock);
    return { store, terminal, keyboard };
  }

  it('draws on change, at most once per MIN_REDRAW_INTERVAL_MS, and not at all while nothing changes', () => {
    const { store } = start();
    const first = views.renders;
    advance(MIN_REDRAW_INTERVAL_MS);
    for (let index = 0; index < 50; index += 1) store.dispatch(logs(['web', `line ${index}`]));
    expect(views.renders).toBe(first);
    advance(MIN_REDRAW_INTERVAL_MS);
    expect(views.renders).toBe(first + 1);
    expect(views.last?.state.logs.lines).toHaveLength(50);
    // Idle: no ticker, no frames.
    advance(10_000);
    expect(views.renders).toBe(first + 1);
    // A fold that changes nothing (the same reading twice) draws nothing either.
    store.dispatch(ENGINE);
    advance(MIN_REDRAW_INTERVAL_MS);
    const afterEngine = views.renders;
    store.dispatch(ENGINE);
    advance(MIN_REDRAW_INTERVAL_MS * 4);
    expect(views.renders).toBe(afterEngine);
  });

  it('follows a resize of the terminal', () => {
    const { terminal } = start();
    expect(views.last).toMatchObject({ columns: 100, rows: 30 });
    terminal.stream.columns = 60;
    terminal.stream.rows = 20;
    terminal.stream.emit('resize');
    advance(MIN_REDRAW_INTERVAL_MS);
    expect(views.last).toMatchObject({ columns: 60, rows: 20 });
  });

  it('reads keys in raw mode, turns them into intents, and restores the terminal mode at close', async () => {
    const intents: KeyIntent[] = [];
    const { keyboard, terminal } = start(intents);
    expect(keyboard.modes).toEqual([true]);
    keyboard.write('/');
    keyboard.write('\t');
    keyboard.write('q');
    await vi.waitFor(() => expect(intents).toHaveLength(3));
    expect(intents).toEqual([{ kind: 'event', event: { type: 'filter-start' } }, { kind: 'event', event: { type: 'focus', delta: 1 } }, { kind: 'quit' }]);
    await ui!.close();
    ui = undefined;
    expect(keyboard.modes).toEqual([true, false]);
    // The alternate screen was entered and left.
    expect(terminal.output()).toContain('\u001b[?1049h');
    expect(terminal.output()).toContain('\u001b[?1049l');
  });
});
