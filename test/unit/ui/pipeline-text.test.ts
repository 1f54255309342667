import { describe, expect, it } from 'vitest';
import type { PipelineSinkEvent } from '../../../src/ui/pipeline-store.js';
import { foldPipelineEvent, initialPipelineState } from '../../../src/ui/pipeline-store.js';
import { checkText, passedChecksText, pipelinePlainTitle, pipelineTitle, stageElapsedText } from '../../../src/ui/pipeline-text.js';

const RUN: PipelineSinkEvent = { type: 'pipeline', at: 0, runId: 'r1', project: 'demo', env: 'default', stages: ['build', 'perf'] };

describe('pipeline titles', () => {
  it.each([
    ['default', 'pipeline r1 for demo (env default)', 'pipeline r1 demo (env default): build, perf'],
    ['', 'pipeline r1 for demo', 'pipeline r1 demo: build, perf'],
  ])('env %j', (env, live, plain) => {
    const state = foldPipelineEvent(initialPipelineState(), { ...RUN, env });
    if (state.run === undefined) throw new Error('no run');
    expect(pipelineTitle(state.run)).toBe(live);
    expect(pipelinePlainTitle(state.run, state.stages)).toBe(plain);
  });
});

describe('stageElapsedText', () => {
  const cases: { name: string; events: PipelineSinkEvent[]; now: number; expected: string }[] = [
    { name: 'pending: nothing', events: [], now: 5000, expected: '' },
    { name: 'running: since it started', events: [{ type: 'stage', at: 1000, stage: 'build', status: 'running' }], now: 4200, expected: '3.2s' },
    {
      name: 'ended: how long it ran',
      events: [
        { type: 'stage', at: 1000, stage: 'build', status: 'running' },
        { type: 'stage', at: 66_400, stage: 'build', status: 'failed' },
      ],
      now: 99_000,
      expected: '1m05s',
    },
    {
      name: 'skipped: nothing',
      events: [{ type: 'stage', at: 1000, stage: 'build', status: 'skipped' }],
      now: 4200,
      expected: '',
    },
    {
      name: 'failed without running: nothing',
      events: [{ type: 'stage', at: 1000, stage: 'build', status: 'failed' }],
      now: 4200,
      expected: '',
    },
    {
      name: 'running when the run ended: stopped at the end',
      events: [
        { type: 'stage', at: 1000, stage: 'build', status: 'running' },
        { type: 'pipeline-done', at: 2500, ok: false, cancelled: true, summary: 'cancelled' },
      ],
      now: 9000,
      expected: '1.5s',
    },
  ];

  it.each(cases)('$name', ({ events, now, expected }) => {
    const state = [RUN, ...events].reduce(foldPipelineEvent, initialPipelineState());
    const build = state.stages.find((stage) => stage.name === 'build');
    if (build === undefined) throw new Error('no build stage');
    expect(stageElapsedText(build, state, now)).toBe(expected);
  });
});

describe('check words', () => {
  it.each([
    [{ name: 'port web:3000', status: 'failed', detail: 'nothing listens on 3000 inside web' }, 'port web:3000: nothing listens on 3000 inside web'],
    [{ name: 'image web', status: 'passed', detail: undefined }, 'image web'],
    [{ name: 'image web', status: 'passed', detail: '' }, 'image web'],
  ] as const)('%j → %s', (check, expected) => {
    expect(checkText(check)).toBe(expected);
  });

  it.each([
    [1, '1 check passed'],
    [3, '3 checks passed'],
  ])('%d → %s', (count, expected) => {
    expect(passedChecksText(count)).toBe(expected);
  });
});
