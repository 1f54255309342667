import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelineProgressProps } from '../../../src/ui/PipelineProgress.js';
import type { PipelineSinkEvent } from '../../../src/ui/pipeline-store.js';
import { createPipelineRenderer } from '../../../src/ui/render-progress.js';
import {
  CLEAR_SCREEN,
  closeForGood,
  expectJsonLines,
  expectTerminalSafe,
  fakeTerminal,
  OSC52_CLIPBOARD,
  renderedOutput,
  useFakeClock,
} from './support.js';

// Count the view's renders and keep its last props: the renderer's throttling and ticking are
// observable only through them.
const views = vi.hoisted(() => ({ renders: 0, last: undefined as PipelineProgressProps | undefined }));
vi.mock('../../../src/ui/PipelineProgress.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/ui/PipelineProgress.js')>();
  return {
    ...original,
    PipelineProgress: (props: PipelineProgressProps) => {
      views.renders += 1;
      views.last = props;
      return original.PipelineProgress(props);
    },
  };
});

const RUN: PipelineSinkEvent = { type: 'pipeline', at: 0, runId: 'r1', project: 'demo', env: 'default', stages: ['build', 'integration'] };

beforeEach(() => {
  views.renders = 0;
  views.last = undefined;
});

describe('tty pipeline renderer', () => {
  const { now: clock, advance, moveClock } = useFakeClock();

  it('redraws at most every 100 ms however many lines a stage prints', async () => {
    const { stream } = fakeTerminal();
    const renderer = createPipelineRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    const initial = views.renders;
    renderer.sink(RUN);
    expect(views.renders).toBe(initial + 1);
    for (let i = 0; i < 50; i++) renderer.sink({ type: 'stage-output', at: 0, stage: 'build', line: `line ${i}` });
    expect(views.renders).toBe(initial + 1);
    advance(100);
    expect(views.renders).toBe(initial + 2);
    expect(views.last?.state.stages[0]?.output.at(-1)).toBe('line 49');
    await renderer.close();
  });

  it('ticks once a second while a stage runs, through an inner done, and stops when no stage runs', async () => {
    const { stream } = fakeTerminal();
    const renderer = createPipelineRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    renderer.sink(RUN);
    renderer.sink({ type: 'stage', at: 0, stage: 'integration', status: 'running' });
    advance(100);
    const running = views.renders;
    advance(2000);
    expect(views.renders).toBe(running + 2);

    // The environment's own `up` finishing does not end the run or its clock.
    renderer.sink({ type: 'done', at: 40, ok: true, cancelled: false, summary: '2 services up' });
    advance(100);
    const afterInnerDone = views.renders;
    advance(3000);
    expect(views.renders).toBe(afterInnerDone + 3);
    expect(views.last?.state.done).toBeUndefined();

    moveClock(50);
    renderer.sink({ type: 'stage', at: 5250, stage: 'integration', status: 'passed' });
    advance(100);
    const settled = views.renders;
    advance(5000);
    expect(views.renders).toBe(settled);
    await renderer.close();
  });

  it('keeps the run’s clock: forwarded events count from their own operation’s start', async () => {
    const { stream } = fakeTerminal();
    const renderer = createPipelineRenderer('tty', { stderr: stream }, { clock });
    await renderer.ready;
    renderer.sink(RUN);
    advance(10_000);
    renderer.sink({ type: 'stage', at: 10_000, stage: 'integration', status: 'running' });
    advance(500);
    renderer.sink({ type: 'service', at: 20, service: 'db', phase: 'creating' });
    advance(1000);
    expect(views.last?.now).toBe(11_500);
    await renderer.close();
  });

  it('close leaves the final frame, stops ticking and ignores later events', async () => {
    const terminal = fakeTerminal({ columns: 60, rows: 30 });
    const renderer = createPipelineRenderer('tty', { stderr: terminal.stream }, { clock });
    await renderer.ready;
    renderer.sink(RUN);
    renderer.sink({ type: 'stage', at: 0, stage: 'build', status: 'running' });
    renderer.sink({ type: 'stage', at: 1200, stage: 'build', status: 'passed' });
    renderer.sink({ type: 'stage', at: 1200, stage: 'integration', status: 'running' });
    renderer.sink({ type: 'check', at: 3000, stage: 'integration', name: 'npm test', status: 'failed', detail: 'exited 1' });
    renderer.sink({ type: 'stage', at: 3400, stage: 'integration', status: 'failed', detail: 'npm test exited 1' });
    renderer.sink({ type: 'pipeline-done', at: 3500, ok: false, cancelled: false, summary: 'integration failed' });
    const late: PipelineSinkEvent = { type: 'stage-output', at: 5000, stage: 'integration', line: 'too late' };
    const lines = await closeForGood(renderer, terminal, () => views.renders, late);
    expect(lines.slice(-5)).toEqual([
      'pipeline r1 for demo (env default)  3.5s',
      '✔ build        passed  1.2s',
      '✖ integration  failed  2.2s  npm test exited 1',
      '    ✖ npm test: exited 1',
      '✖ integration failed',
    ]);
  });
});

describe('json pipeline renderer', () => {
  const events: PipelineSinkEvent[] = [
    RUN,
    { type: 'stage', at: 10, stage: 'build', status: 'running' },
    { type: 'service', at: 1, service: 'web', phase: 'building' },
    { type: 'check', at: 20, stage: 'build', name: 'image web', status: 'passed' },
    { type: 'pipeline-done', at: 30, ok: true, cancelled: false, summary: 'passed' },
  ];

  it('writes nothing to stderr by default', async () => {
    expect(await renderedOutput(createPipelineRenderer, 'json', events, { env: {} })).toBe('');
  });

  it('writes every event, forwarded ones included, as one JSON line when ENVCTL_EVENTS=jsonl', async () => {
    const output = await renderedOutput(createPipelineRenderer, 'json', events, { env: { ENVCTL_EVENTS: 'jsonl' } });
    expectJsonLines(output, events);
  });
});

describe('hostile stage output never reaches the terminal', () => {
  const events: PipelineSinkEvent[] = [
    RUN,
    { type: 'stage', at: 0, stage: 'integration', status: 'running' },
    { type: 'stage-output', at: 10, stage: 'integration', line: `> npm test${OSC52_CLIPBOARD}${CLEAR_SCREEN} ok` },
    { type: 'stage-output', at: 11, stage: 'integration', line: 'eight-bit \u009b2J clear' },
    { type: 'build-log', at: 12, service: 'web', line: `RUN make${CLEAR_SCREEN}` },
    { type: 'check', at: 20, stage: 'integration', name: `api${CLEAR_SCREEN}`, status: 'failed', detail: `got 500${OSC52_CLIPBOARD}` },
    { type: 'stage', at: 30, stage: 'integration', status: 'failed', detail: `exited 1${CLEAR_SCREEN}` },
    { type: 'pipeline-done', at: 40, ok: false, cancelled: false, summary: `failed${OSC52_CLIPBOARD}` },
  ];

  it.each(['tty', 'plain'] as const)('%s: no OSC 52, no clear-screen, the text still shows', async (mode) => {
    const output = await renderedOutput(createPipelineRenderer, mode, events, { env: {} });
    expect(output).toContain('> npm test ok');
    expect(output).toContain('api: got 500');
    expectTerminalSafe(output);
  });

  it('jsonl: escape characters stay escaped inside JSON strings', async () => {
    const output = await renderedOutput(createPipelineRenderer, 'json', events, { env: { ENVCTL_EVENTS: 'jsonl' } });
    expectJsonLines(output, events);
  });
});
