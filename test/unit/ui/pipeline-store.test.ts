import { describe, expect, it } from 'vitest';
import type { PipelineSinkEvent, PipelineState } from '../../../src/ui/pipeline-store.js';
import {
  foldPipelineEvent,
  hasRunningStage,
  initialPipelineState,
  isPipelineEvent,
  STAGE_OUTPUT_LINES,
} from '../../../src/ui/pipeline-store.js';
import { expectPureFold } from './support.js';

const RUN: PipelineSinkEvent = {
  type: 'pipeline',
  at: 0,
  runId: '20261126T103512Z-a1b2',
  project: 'demo',
  env: 'default',
  stages: ['build', 'integration', 'perf', 'staging'],
};

function fold(events: readonly PipelineSinkEvent[]): PipelineState {
  return events.reduce(foldPipelineEvent, initialPipelineState());
}

function stage(state: PipelineState, name: string) {
  const found = state.stages.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no stage ${name} in ${state.stages.map((s) => s.name).join(', ')}`);
  return found;
}

describe('foldPipelineEvent: one stage', () => {
  const cases: { name: string; events: PipelineSinkEvent[]; stage: string; expected: Record<string, unknown> }[] = [
    {
      name: 'stages start pending, without times, checks or output',
      events: [RUN],
      stage: 'perf',
      expected: { status: 'pending', detail: undefined, startedAt: undefined, endedAt: undefined, checks: [], output: [] },
    },
    {
      name: 'running records when the stage started',
      events: [RUN, { type: 'stage', at: 1200, stage: 'build', status: 'running' }],
      stage: 'build',
      expected: { status: 'running', startedAt: 1200, endedAt: undefined },
    },
    {
      name: 'passing records when it ended, with its detail',
      events: [
        RUN,
        { type: 'stage', at: 1200, stage: 'build', status: 'running' },
        { type: 'stage', at: 13_500, stage: 'build', status: 'passed', detail: '2 images' },
      ],
      stage: 'build',
      expected: { status: 'passed', detail: '2 images', startedAt: 1200, endedAt: 13_500 },
    },
    {
      name: 'a repeated status updates the detail but keeps its times',
      events: [
        RUN,
        { type: 'stage', at: 100, stage: 'staging', status: 'running', detail: 'deploying' },
        { type: 'stage', at: 900, stage: 'staging', status: 'running', detail: 'checking' },
        { type: 'stage', at: 1000, stage: 'staging', status: 'failed', detail: 'port web:3000' },
        { type: 'stage', at: 1100, stage: 'staging', status: 'failed', detail: '2 checks failed' },
      ],
      stage: 'staging',
      expected: { status: 'failed', detail: '2 checks failed', startedAt: 100, endedAt: 1000 },
    },
    {
      name: 'a skipped stage never started',
      events: [RUN, { type: 'stage', at: 500, stage: 'perf', status: 'skipped', detail: 'integration failed' }],
      stage: 'perf',
      expected: { status: 'skipped', detail: 'integration failed', startedAt: undefined, endedAt: 500 },
    },
    {
      name: 'output keeps the last lines while running, sanitised, blank lines dropped',
      events: [
        RUN,
        { type: 'stage', at: 0, stage: 'integration', status: 'running' },
        ...Array.from({ length: STAGE_OUTPUT_LINES + 2 }, (_, i): PipelineSinkEvent => ({
          type: 'stage-output',
          at: i,
          stage: 'integration',
          line: `\u001b[32mline ${i}\u001b[0m`,
        })),
        { type: 'stage-output', at: 50, stage: 'integration', line: '\u001b[2J   ' },
      ],
      stage: 'integration',
      expected: { output: Array.from({ length: STAGE_OUTPUT_LINES }, (_, i) => `line ${i + 2}`) },
    },
    {
      name: 'output stays after a failure: it says why',
      events: [
        RUN,
        { type: 'stage', at: 0, stage: 'integration', status: 'running' },
        { type: 'stage-output', at: 10, stage: 'integration', line: 'FAIL test/api.test.ts' },
        { type: 'stage', at: 20, stage: 'integration', status: 'failed', detail: 'npm test exited 1' },
      ],
      stage: 'integration',
      expected: { status: 'failed', output: ['FAIL test/api.test.ts'] },
    },
    {
      name: 'output is dropped when the stage passes',
      events: [
        RUN,
        { type: 'stage', at: 0, stage: 'build', status: 'running' },
        { type: 'stage-output', at: 10, stage: 'build', line: 'Step 1/4 : FROM node' },
        { type: 'stage', at: 20, stage: 'build', status: 'passed' },
      ],
      stage: 'build',
      expected: { status: 'passed', output: [] },
    },
    {
      name: 'checks are kept in order, sanitised; one reported again replaces its verdict',
      events: [
        RUN,
        { type: 'stage', at: 0, stage: 'staging', status: 'running' },
        { type: 'check', at: 1, stage: 'staging', name: 'port web:3000', status: 'failed', detail: 'nothing listens\u0007 on 3000\ninside web' },
        { type: 'check', at: 2, stage: 'staging', name: 'http web /health', status: 'passed' },
        { type: 'check', at: 3, stage: 'staging', name: 'port web:3000', status: 'passed', detail: 'listening' },
      ],
      stage: 'staging',
      expected: {
        checks: [
          { name: 'port web:3000', status: 'passed', detail: 'listening' },
          { name: 'http web /health', status: 'passed', detail: undefined },
        ],
      },
    },
    {
      name: 'a check detail is sanitised onto one line',
      events: [
        RUN,
        { type: 'check', at: 1, stage: 'staging', name: 'port\u001b]52;c;AAAA\u0007 web:3000', status: 'failed', detail: 'nothing listens\u001b[2J on 3000\ninside web' },
      ],
      stage: 'staging',
      expected: { checks: [{ name: 'port web:3000', status: 'failed', detail: 'nothing listens on 3000 inside web' }] },
    },
    {
      name: 'a stage the pipeline event did not name is added',
      events: [RUN, { type: 'stage', at: 50, stage: 'release', status: 'running' }],
      stage: 'release',
      expected: { status: 'running', startedAt: 50 },
    },
  ];

  it.each(cases)('$name', ({ events, stage: name, expected }) => {
    expect(stage(fold(events), name)).toMatchObject(expected);
  });
});

describe('foldPipelineEvent: the whole run', () => {
  const cases: { name: string; events: PipelineSinkEvent[]; expected: (state: PipelineState) => unknown; equals: unknown }[] = [
    { name: 'the initial state is empty', events: [], expected: (s) => s, equals: initialPipelineState() },
    {
      name: 'the pipeline event sets the header and the stage order, sanitised',
      events: [{ ...RUN, runId: 'r1\u001b[2J', project: 'de\u0007mo', stages: ['build', 'perf', 'build'] }],
      expected: (s) => ({ run: s.run, stages: s.stages.map((x) => x.name) }),
      equals: { run: { runId: 'r1', project: 'demo', env: 'default', startedAt: 0 }, stages: ['build', 'perf'] },
    },
    {
      name: 'a new run starts from scratch',
      events: [
        RUN,
        { type: 'stage', at: 1, stage: 'build', status: 'running' },
        { type: 'warning', at: 2, message: 'old' },
        { ...RUN, runId: 'second', stages: ['staging'] },
      ],
      expected: (s) => ({ runId: s.run?.runId, stages: s.stages.map((x) => x.name), warnings: s.warnings, current: s.currentStage }),
      equals: { runId: 'second', stages: ['staging'], warnings: [], current: undefined },
    },
    {
      name: 'pipeline-done records the outcome and when, sanitised',
      events: [RUN, { type: 'pipeline-done', at: 9000, ok: false, cancelled: false, summary: 'integration failed\u001b[1A' }],
      expected: (s) => s.done,
      equals: { ok: false, cancelled: false, summary: 'integration failed', at: 9000 },
    },
    {
      name: 'the current stage is the one that started running last',
      events: [
        RUN,
        { type: 'stage', at: 1, stage: 'build', status: 'running' },
        { type: 'stage', at: 2, stage: 'build', status: 'passed' },
        { type: 'stage', at: 3, stage: 'integration', status: 'running' },
        { type: 'stage', at: 4, stage: 'perf', status: 'skipped' },
      ],
      expected: (s) => s.currentStage,
      equals: 'integration',
    },
  ];

  it.each(cases)('$name', ({ events, expected, equals }) => {
    expect(expected(fold(events))).toEqual(equals);
  });
});

describe('foldPipelineEvent: forwarded up/down events', () => {
  const integration: PipelineSinkEvent[] = [RUN, { type: 'stage', at: 1000, stage: 'integration', status: 'running' }];

  const cases: { name: string; events: PipelineSinkEvent[]; expected: (state: PipelineState) => unknown; equals: unknown }[] = [
    {
      name: 'become the running stage’s output, worded as the plain `up` lines',
      events: [
        ...integration,
        { type: 'operation', at: 0, operation: 'up', project: 'demo-perf-c3d4', env: '', services: ['cache', 'api'] },
        { type: 'resource', at: 3, kind: 'volume', name: 'demo-perf-c3d4_cache', action: 'created' },
        { type: 'service', at: 5, service: 'cache', phase: 'starting' },
        { type: 'service', at: 805, service: 'cache', phase: 'running' },
        { type: 'service', at: 7, service: 'api', phase: 'building' },
        { type: 'build-log', at: 8, service: 'api', line: 'RUN npm ci' },
        { type: 'service', at: 900, service: 'api', phase: 'failed', detail: 'build failed' },
      ],
      expected: (s) => stage(s, 'integration').output,
      equals: [
        'up demo-perf-c3d4',
        'volume demo-perf-c3d4_cache created',
        'cache  starting',
        'cache  running (0.8s)',
        'api  building',
        'api  | RUN npm ci',
        'api  failed: build failed',
      ],
    },
    {
      name: 'are folded into the provisioning state',
      events: [...integration, { type: 'service', at: 10, service: 'db', phase: 'creating' }],
      expected: (s) => s.provisioning.services.map((x) => [x.name, x.phase]),
      equals: [['db', 'creating']],
    },
    {
      name: 'an inner done ends the provisioning, never the pipeline',
      events: [
        ...integration,
        { type: 'operation', at: 0, operation: 'down', project: 'demo-it-a1b2', env: 'default', services: ['db'] },
        { type: 'done', at: 300, ok: true, cancelled: false, summary: 'removed demo-it-a1b2' },
      ],
      expected: (s) => ({ done: s.done, running: hasRunningStage(s), last: stage(s, 'integration').output.at(-1), inner: s.provisioning.done?.ok }),
      equals: { done: undefined, running: true, last: 'done: removed demo-it-a1b2', inner: true },
    },
    {
      name: 'warnings go to the warnings, not the output',
      events: [...integration, { type: 'warning', at: 3, message: 'port 8080 is published\u001b[2J on all interfaces' }],
      expected: (s) => ({ warnings: s.warnings, output: stage(s, 'integration').output }),
      equals: { warnings: ['port 8080 is published on all interfaces'], output: [] },
    },
    {
      name: 'after the stage settled, they no longer add output',
      events: [
        ...integration,
        { type: 'stage-output', at: 1100, stage: 'integration', line: 'FAIL test/api.test.ts' },
        { type: 'stage', at: 1200, stage: 'integration', status: 'failed' },
        { type: 'service', at: 10, service: 'db', phase: 'stopping' },
      ],
      expected: (s) => stage(s, 'integration').output,
      equals: ['FAIL test/api.test.ts'],
    },
    {
      name: 'before any stage runs, they add no output',
      events: [RUN, { type: 'service', at: 10, service: 'db', phase: 'creating' }],
      expected: (s) => s.stages.flatMap((x) => x.output),
      equals: [],
    },
    {
      name: 'a new stage starts with an empty provisioning view',
      events: [
        ...integration,
        { type: 'service', at: 10, service: 'db', phase: 'healthy' },
        { type: 'stage', at: 5000, stage: 'integration', status: 'passed' },
        { type: 'stage', at: 5100, stage: 'perf', status: 'running' },
        { type: 'service', at: 10, service: 'db', phase: 'creating' },
        { type: 'service', at: 1510, service: 'db', phase: 'healthy' },
      ],
      expected: (s) => stage(s, 'perf').output,
      equals: ['db  creating', 'db  healthy (1.5s)'],
    },
  ];

  it.each(cases)('$name', ({ events, expected, equals }) => {
    expect(expected(fold(events))).toEqual(equals);
  });
});

describe('foldPipelineEvent purity', () => {
  it('never mutates the state or the event it is given', () => {
    const events: PipelineSinkEvent[] = [
      RUN,
      { type: 'stage', at: 10, stage: 'build', status: 'running' },
      { type: 'stage-output', at: 20, stage: 'build', line: 'Step 1/4' },
      { type: 'service', at: 1, service: 'db', phase: 'creating' },
      { type: 'check', at: 30, stage: 'build', name: 'image web', status: 'passed' },
      { type: 'warning', at: 2, message: 'w' },
      { type: 'done', at: 3, ok: true, cancelled: false, summary: 'up' },
      { type: 'stage', at: 40, stage: 'build', status: 'failed' },
      { type: 'stage', at: 50, stage: 'release', status: 'skipped' },
      { type: 'pipeline-done', at: 60, ok: false, cancelled: false, summary: 's' },
    ];
    expectPureFold(foldPipelineEvent, initialPipelineState(), events);
  });
});

describe('hasRunningStage', () => {
  it.each([
    { name: 'nothing started', events: [RUN], expected: false },
    { name: 'a stage running', events: [RUN, { type: 'stage', at: 1, stage: 'build', status: 'running' }], expected: true },
    { name: 'all settled', events: [RUN, { type: 'stage', at: 1, stage: 'build', status: 'passed' }], expected: false },
    {
      name: 'only an inner operation in progress',
      events: [RUN, { type: 'service', at: 1, service: 'db', phase: 'creating' }],
      expected: false,
    },
    {
      name: 'done, even with a stage left running (cancelled)',
      events: [
        RUN,
        { type: 'stage', at: 1, stage: 'build', status: 'running' },
        { type: 'pipeline-done', at: 2, ok: false, cancelled: true, summary: 'x' },
      ],
      expected: false,
    },
  ] satisfies { name: string; events: PipelineSinkEvent[]; expected: boolean }[])('$name → $expected', ({ events, expected }) => {
    expect(hasRunningStage(fold(events))).toBe(expected);
  });
});

describe('isPipelineEvent', () => {
  it.each([
    [RUN, true],
    [{ type: 'stage', at: 0, stage: 'build', status: 'running' }, true],
    [{ type: 'stage-output', at: 0, stage: 'build', line: 'x' }, true],
    [{ type: 'check', at: 0, stage: 'build', name: 'x', status: 'passed' }, true],
    [{ type: 'pipeline-done', at: 0, ok: true, cancelled: false, summary: 'x' }, true],
    [{ type: 'service', at: 0, service: 'db', phase: 'creating' }, false],
    [{ type: 'done', at: 0, ok: true, cancelled: false, summary: 'x' }, false],
    [{ type: 'warning', at: 0, message: 'x' }, false],
  ] satisfies [PipelineSinkEvent, boolean][])('%j → %s', (event, expected) => {
    expect(isPipelineEvent(event)).toBe(expected);
  });
});
