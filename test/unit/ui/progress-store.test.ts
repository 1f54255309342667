import { describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import type { ProgressState } from '../../../src/ui/progress-store.js';
import { foldEvent, hasWorkInProgress, initialProgressState } from '../../../src/ui/progress-store.js';
import { expectPureFold } from './support.js';

const UP: EnvctlEvent = { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web'] };

function fold(events: readonly EnvctlEvent[]): ProgressState {
  return events.reduce(foldEvent, initialProgressState());
}

function service(state: ProgressState, name: string) {
  const found = state.services.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no service ${name} in ${state.services.map((s) => s.name).join(', ')}`);
  return found;
}

describe('foldEvent: one service', () => {
  const cases: { name: string; events: EnvctlEvent[]; service: string; expected: Record<string, unknown> }[] = [
    {
      name: 'services start pending, in the order of the operation event',
      events: [UP],
      service: 'web',
      expected: { phase: 'pending', detail: undefined, startedAt: undefined, settledAt: undefined, buildLog: [] },
    },
    {
      name: 'a phase records its detail and when it was entered',
      events: [UP, { type: 'service', at: 120, service: 'web', phase: 'recreating', detail: 'changed: environment' }],
      service: 'web',
      expected: { phase: 'recreating', detail: 'changed: environment', phaseSince: 120, startedAt: 120, settledAt: undefined },
    },
    {
      name: 'the start of work is the first phase after pending and is kept',
      events: [
        UP,
        { type: 'service', at: 100, service: 'db', phase: 'creating' },
        { type: 'service', at: 300, service: 'db', phase: 'health' },
        { type: 'service', at: 4300, service: 'db', phase: 'healthy' },
      ],
      service: 'db',
      expected: { phase: 'healthy', phaseSince: 4300, startedAt: 100, settledAt: 4300 },
    },
    {
      name: 'a repeated phase updates the detail but keeps its start time',
      events: [
        UP,
        { type: 'service', at: 300, service: 'db', phase: 'health', detail: 'starting' },
        { type: 'service', at: 2300, service: 'db', phase: 'health', detail: 'retry 2/20' },
      ],
      service: 'db',
      expected: { phase: 'health', detail: 'retry 2/20', phaseSince: 300 },
    },
    {
      name: 'an event without detail clears the previous detail',
      events: [
        UP,
        { type: 'service', at: 300, service: 'db', phase: 'health', detail: 'retry 1/20' },
        { type: 'service', at: 900, service: 'db', phase: 'healthy' },
      ],
      service: 'db',
      expected: { phase: 'healthy', detail: undefined },
    },
    {
      name: 'leaving a settled phase clears its settle time',
      events: [
        UP,
        { type: 'service', at: 100, service: 'web', phase: 'running' },
        { type: 'service', at: 500, service: 'web', phase: 'health' },
      ],
      service: 'web',
      expected: { phase: 'health', settledAt: undefined, startedAt: 100 },
    },
    {
      name: 'failed, unchanged and skipped are settled',
      events: [UP, { type: 'service', at: 700, service: 'web', phase: 'failed', detail: 'exited (1)' }],
      service: 'web',
      expected: { phase: 'failed', detail: 'exited (1)', settledAt: 700 },
    },
    {
      name: 'build output keeps the last 3 lines while building',
      events: [
        UP,
        { type: 'service', at: 10, service: 'web', phase: 'building' },
        ...['Step 1/4 : FROM node', 'Step 2/4 : COPY . .', 'Step 3/4 : RUN npm ci', 'Step 4/4 : CMD node'].map(
          (line, i): EnvctlEvent => ({ type: 'build-log', at: 20 + i, service: 'web', line }),
        ),
      ],
      service: 'web',
      expected: { phase: 'building', buildLog: ['Step 2/4 : COPY . .', 'Step 3/4 : RUN npm ci', 'Step 4/4 : CMD node'] },
    },
    {
      name: 'build output is dropped when the build is done',
      events: [
        UP,
        { type: 'service', at: 10, service: 'web', phase: 'building' },
        { type: 'build-log', at: 20, service: 'web', line: 'Step 1/4 : FROM node' },
        { type: 'service', at: 900, service: 'web', phase: 'built' },
      ],
      service: 'web',
      expected: { phase: 'built', buildLog: [] },
    },
    {
      name: 'build output stays after a failed build: it says why',
      events: [
        UP,
        { type: 'service', at: 10, service: 'web', phase: 'building' },
        { type: 'build-log', at: 20, service: 'web', line: 'npm ERR! missing script: build' },
        { type: 'service', at: 900, service: 'web', phase: 'failed', detail: 'build failed' },
      ],
      service: 'web',
      expected: { phase: 'failed', buildLog: ['npm ERR! missing script: build'] },
    },
    {
      name: 'build output is sanitised and blank lines are dropped',
      events: [
        UP,
        { type: 'service', at: 10, service: 'web', phase: 'building' },
        { type: 'build-log', at: 20, service: 'web', line: '\u001b[32mok\u001b[0m \u001b]52;c;aGVsbG8=\u0007done' },
        { type: 'build-log', at: 21, service: 'web', line: '\u001b[2J   ' },
      ],
      service: 'web',
      expected: { buildLog: ['ok done'] },
    },
    {
      name: 'details are sanitised onto one line',
      events: [UP, { type: 'service', at: 5, service: 'db', phase: 'failed', detail: 'unhealthy:\npg_isready: no response\u001b[2J\n' }],
      service: 'db',
      expected: { detail: 'unhealthy: pg_isready: no response' },
    },
    {
      name: 'a service the operation did not name is added',
      events: [UP, { type: 'service', at: 50, service: 'migrate', phase: 'completed' }],
      service: 'migrate',
      expected: { phase: 'completed', startedAt: 50, settledAt: 50 },
    },
  ];

  it.each(cases)('$name', ({ events, service: name, expected }) => {
    expect(service(fold(events), name)).toMatchObject(expected);
  });
});

describe('foldEvent: the whole operation', () => {
  const cases: { name: string; events: EnvctlEvent[]; expected: (state: ProgressState) => unknown; equals: unknown }[] = [
    { name: 'the initial state is empty', events: [], expected: (s) => s, equals: initialProgressState() },
    {
      name: 'the operation event sets the header and the service order',
      events: [UP],
      expected: (s) => ({ operation: s.operation, services: s.services.map((x) => x.name) }),
      equals: { operation: { kind: 'up', project: 'shop', env: 'local', startedAt: 0 }, services: ['db', 'web'] },
    },
    {
      name: 'a duplicated service name in the operation event gives one row',
      events: [{ ...UP, services: ['db', 'web', 'db'] }],
      expected: (s) => s.services.map((x) => x.name),
      equals: ['db', 'web'],
    },
    {
      name: 'a new operation starts from scratch',
      events: [
        UP,
        { type: 'warning', at: 1, message: 'old' },
        { type: 'operation', at: 0, operation: 'down', project: 'shop', env: '', services: ['web'] },
      ],
      expected: (s) => ({ kind: s.operation?.kind, services: s.services.map((x) => x.name), warnings: s.warnings }),
      equals: { kind: 'down', services: ['web'], warnings: [] },
    },
    {
      name: 'resources are counted by action',
      events: [
        UP,
        { type: 'resource', at: 1, kind: 'network', name: 'shop_default', action: 'created' },
        { type: 'resource', at: 2, kind: 'volume', name: 'shop_dbdata', action: 'created' },
        { type: 'resource', at: 3, kind: 'container', name: 'shop-web-1', action: 'removed' },
        { type: 'resource', at: 4, kind: 'volume', name: 'shop_cache', action: 'kept' },
      ],
      expected: (s) => s.resources,
      equals: { created: 2, removed: 1, kept: 1 },
    },
    {
      name: 'warnings are kept in order, sanitised',
      events: [UP, { type: 'warning', at: 1, message: 'first' }, { type: 'warning', at: 2, message: 'sec\u0007ond\u001b[1A' }],
      expected: (s) => s.warnings,
      equals: ['first', 'second'],
    },
    {
      name: 'done records the outcome and when',
      events: [UP, { type: 'done', at: 9000, ok: false, cancelled: true, summary: 'cancelled after 9.0s' }],
      expected: (s) => s.done,
      equals: { ok: false, cancelled: true, summary: 'cancelled after 9.0s', at: 9000 },
    },
  ];

  it.each(cases)('$name', ({ events, expected, equals }) => {
    expect(expected(fold(events))).toEqual(equals);
  });
});

describe('foldEvent purity', () => {
  it('never mutates the state or the event it is given', () => {
    const events: EnvctlEvent[] = [
      UP,
      { type: 'service', at: 10, service: 'web', phase: 'building' },
      { type: 'build-log', at: 20, service: 'web', line: 'Step 1/4' },
      { type: 'service', at: 30, service: 'web', phase: 'failed' },
      { type: 'service', at: 40, service: 'extra', phase: 'running' },
      { type: 'resource', at: 50, kind: 'network', name: 'n', action: 'created' },
      { type: 'warning', at: 60, message: 'w' },
      { type: 'done', at: 70, ok: true, cancelled: false, summary: 's' },
    ];
    expectPureFold(foldEvent, initialProgressState(), events);
  });
});

describe('hasWorkInProgress', () => {
  it.each([
    { name: 'nothing started', events: [UP], expected: false },
    { name: 'a service in progress', events: [UP, { type: 'service', at: 1, service: 'db', phase: 'creating' }], expected: true },
    { name: 'all settled', events: [UP, { type: 'service', at: 1, service: 'db', phase: 'healthy' }], expected: false },
    {
      name: 'done, even with a service left in progress (cancelled)',
      events: [UP, { type: 'service', at: 1, service: 'db', phase: 'creating' }, { type: 'done', at: 2, ok: false, cancelled: true, summary: 'x' }],
      expected: false,
    },
  ] satisfies { name: string; events: EnvctlEvent[]; expected: boolean }[])('$name → $expected', ({ events, expected }) => {
    expect(hasWorkInProgress(fold(events))).toBe(expected);
  });
});
