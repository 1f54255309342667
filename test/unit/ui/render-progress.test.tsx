import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import type { UpProgressProps } from '../../../src/ui/UpProgress.js';
import { createProgressRenderer } from '../../../src/ui/render-progress.js';
import { closeForGood, expectJsonLines, fakeTerminal, renderedOutput, useFakeClock } from './support.js';

// Count the view's renders and keep its last props: the renderer's throttling and ticking are
// observable only through them.
const views = vi.hoisted(() => ({ renders: 0, last: undefined as UpProgressProps | undefined }));
vi.mock('../../../src/ui/UpProgress.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/ui/UpProgress.js')>();
  return {
    ...original,
    UpProgress: (props: UpProgressProps) => {
      views.renders += 1;
      views.last = props;
      return original.UpProgress(props);
    },
  };
});

const UP: EnvctlEvent = { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web'] };

beforeEach(() => {
  views.renders = 0;
  views.last = undefined;
});

describe('tty renderer', () => {
  const { now: clock, advance, moveClock } = useFakeClock();

  it('redraws at most every 100 ms however many events arrive', async () => {
    const { stream } = fakeTerminal();
    const renderer = createProgressRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    const initial = views.renders;
    renderer.sink(UP);
    expect(views.renders).toBe(initial + 1);
    for (let i = 0; i < 50; i++) renderer.sink({ type: 'service', at: 0, service: 'db', phase: 'health', detail: `retry ${i}` });
    expect(views.renders).toBe(initial + 1);
    advance(99);
    expect(views.renders).toBe(initial + 1);
    advance(1);
    expect(views.renders).toBe(initial + 2);
    expect(views.last?.state.services[0]?.detail).toBe('retry 49');
    await renderer.close();
  });

  it('ticks once a second while work is in progress, then stops', async () => {
    const { stream } = fakeTerminal();
    const renderer = createProgressRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    renderer.sink(UP);
    renderer.sink({ type: 'service', at: 0, service: 'db', phase: 'creating' });
    advance(100);
    const afterEvents = views.renders;
    advance(3000);
    expect(views.renders).toBe(afterEvents + 3);
    // Elapsed times follow the clock between events.
    expect(views.last?.now).toBe(3100);

    moveClock(50);
    renderer.sink({ type: 'service', at: 3150, service: 'db', phase: 'healthy' });
    advance(100);
    const settled = views.renders;
    advance(5000);
    expect(views.renders).toBe(settled);
    await renderer.close();
  });

  it('does not tick while nothing is in progress', async () => {
    const { stream } = fakeTerminal();
    const renderer = createProgressRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    renderer.sink(UP);
    advance(100);
    const idle = views.renders;
    advance(5000);
    expect(views.renders).toBe(idle);
    await renderer.close();
  });

  it('close leaves the final frame, stops ticking and ignores later events', async () => {
    const terminal = fakeTerminal({ columns: 60, rows: 30 });
    const renderer = createProgressRenderer('tty', { stderr: terminal.stream }, { clock });
    await renderer.ready;
    renderer.sink(UP);
    renderer.sink({ type: 'service', at: 10, service: 'db', phase: 'creating' });
    renderer.sink({ type: 'service', at: 4210, service: 'db', phase: 'healthy' });
    renderer.sink({ type: 'service', at: 10, service: 'web', phase: 'starting' });
    renderer.sink({ type: 'service', at: 410, service: 'web', phase: 'failed', detail: 'exited (1)' });
    renderer.sink({ type: 'done', at: 4300, ok: false, cancelled: false, summary: 'web failed' });
    const lines = await closeForGood(renderer, terminal, () => views.renders, { type: 'warning', at: 5000, message: 'too late' });
    expect(lines.slice(-4)).toEqual([
      'up shop (env local)  4.3s',
      '✔ db   healthy  4.2s',
      '✖ web  failed   0.4s  exited (1)',
      '✖ web failed',
    ]);
  });

  it('draws for the given width, else the stream width, and follows a resize', async () => {
    const fixed = fakeTerminal({ columns: 100, rows: 30 });
    const fixedRenderer = createProgressRenderer('tty', { stderr: fixed.stream, columns: 33 }, { clock });
    await fixedRenderer.ready;
    fixedRenderer.sink(UP);
    expect(views.last?.columns).toBe(33);
    await fixedRenderer.close();

    const terminal = fakeTerminal({ columns: 70, rows: 30 });
    const renderer = createProgressRenderer('tty', { stderr: terminal.stream }, { clock });
    await renderer.ready;
    renderer.sink(UP);
    expect(views.last?.columns).toBe(70);
    terminal.stream.columns = 41;
    advance(100);
    terminal.stream.emit('resize');
    expect(views.last?.columns).toBe(41);
    await renderer.close();
  });
});

describe('json renderer', () => {
  const events: EnvctlEvent[] = [
    UP,
    { type: 'service', at: 10, service: 'web', phase: 'building' },
    { type: 'build-log', at: 20, service: 'web', line: 'Step 1/4' },
    { type: 'done', at: 30, ok: true, cancelled: false, summary: 'up' },
  ];

  const jsonOutput = (env: Record<string, string | undefined>) => renderedOutput(createProgressRenderer, 'json', events, { env });

  it('writes nothing to stderr by default', async () => {
    expect(await jsonOutput({})).toBe('');
    expect(await jsonOutput({ ENVCTL_EVENTS: 'ndjson' })).toBe('');
  });

  it('writes every event as one JSON line when ENVCTL_EVENTS=jsonl', async () => {
    expectJsonLines(await jsonOutput({ ENVCTL_EVENTS: 'jsonl' }), events);
  });
});
