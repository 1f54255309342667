// Colours are decided when chalk loads; force them on for this file only (restored after).
import { vi } from 'vitest';

const previousForceColor = vi.hoisted(() => {
  const previous = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = '1';
  return previous;
});

import { cleanup, render } from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { foldEvent, initialProgressState } from '../../../src/ui/progress-store.js';
import { UpProgress } from '../../../src/ui/UpProgress.js';

afterEach(() => cleanup());
afterAll(() => {
  if (previousForceColor === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = previousForceColor;
});

const RED = '\u001b[31m';
const GREEN = '\u001b[32m';
const YELLOW = '\u001b[33m';
const GREY = '\u001b[90m';
const DIM = '\u001b[2m';

describe('UpProgress colours', () => {
  const state = [
    { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web', 'worker', 'cache'] },
    { type: 'service', at: 0, service: 'db', phase: 'healthy' },
    { type: 'service', at: 0, service: 'web', phase: 'building' },
    { type: 'build-log', at: 1, service: 'web', line: 'Step 1/4 : FROM node' },
    { type: 'service', at: 0, service: 'worker', phase: 'failed', detail: 'exited (1)' },
    { type: 'service', at: 0, service: 'cache', phase: 'unchanged' },
  ].reduce<ReturnType<typeof initialProgressState>>((s, e) => foldEvent(s, e as EnvctlEvent), initialProgressState());

  const lines = (): string[] => {
    const { lastFrame } = render(<UpProgress state={state} now={1000} columns={100} />);
    return (lastFrame() ?? '').split('\n');
  };
  const lineWith = (text: string): string => {
    const line = lines().find((candidate) => stripAnsi(candidate).includes(text));
    if (line === undefined) throw new Error(`no line with ${text}`);
    return line;
  };

  it.each([
    ['db', GREEN, 'healthy'],
    ['web', YELLOW, 'building'],
    ['worker', RED, 'failed'],
    ['cache', GREY, 'unchanged'],
  ])('%s is coloured %j', (name, colour, phase) => {
    expect(lineWith(` ${name} `)).toContain(`${colour}${phase}`);
  });

  it('shows the failure detail in red and build output dimmed', () => {
    expect(lineWith('exited (1)')).toContain(`${RED}exited (1)`);
    expect(lineWith('Step 1/4')).toContain(`${DIM}    Step 1/4 : FROM node`);
  });
});
