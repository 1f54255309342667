import { describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { foldEvent, initialProgressState } from '../../../src/ui/progress-store.js';
import { elapsedText, formatElapsed, operationTitle } from '../../../src/ui/progress-text.js';

describe('formatElapsed', () => {
  it.each([
    [0, '0.0s'],
    [-20, '0.0s'],
    [99, '0.0s'],
    [4249, '4.2s'],
    [4299, '4.2s'],
    [59_999, '59.9s'],
    [60_000, '1m00s'],
    [65_400, '1m05s'],
    [3_599_999, '59m59s'],
    [3_600_000, '1h00m'],
    [3_725_000, '1h02m'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe('elapsedText', () => {
  const base: EnvctlEvent[] = [
    { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db'] },
  ];
  const cases: { name: string; events: EnvctlEvent[]; now: number; expected: string }[] = [
    { name: 'pending: nothing', events: [], now: 5000, expected: '' },
    { name: 'first phase: its time only', events: [{ type: 'service', at: 1000, service: 'db', phase: 'creating' }], now: 4200, expected: '3.2s' },
    {
      name: 'later phase: phase / total',
      events: [
        { type: 'service', at: 1000, service: 'db', phase: 'creating' },
        { type: 'service', at: 5300, service: 'db', phase: 'health' },
      ],
      now: 8400,
      expected: '3.1s / 7.4s',
    },
    {
      name: 'settled: the total, frozen',
      events: [
        { type: 'service', at: 1000, service: 'db', phase: 'creating' },
        { type: 'service', at: 5200, service: 'db', phase: 'healthy' },
      ],
      now: 60_000,
      expected: '4.2s',
    },
    { name: 'unchanged: nothing', events: [{ type: 'service', at: 1000, service: 'db', phase: 'unchanged' }], now: 9000, expected: '' },
    {
      name: 'in progress when the operation ended: stops at done',
      events: [
        { type: 'service', at: 1000, service: 'db', phase: 'creating' },
        { type: 'done', at: 3000, ok: false, cancelled: true, summary: 'cancelled' },
      ],
      now: 60_000,
      expected: '2.0s',
    },
  ];
  it.each(cases)('$name', ({ events, now, expected }) => {
    const state = [...base, ...events].reduce(foldEvent, initialProgressState());
    const [db] = state.services;
    if (db === undefined) throw new Error('no service');
    expect(elapsedText(db, state, now)).toBe(expected);
  });
});

describe('operationTitle', () => {
  it.each([
    [{ kind: 'up' as const, project: 'shop', env: 'local', startedAt: 0 }, 'up shop (env local)'],
    [{ kind: 'down' as const, project: 'shop', env: '', startedAt: 0 }, 'down shop'],
  ])('%o → %s', (operation, title) => {
    expect(operationTitle(operation)).toBe(title);
  });
});
