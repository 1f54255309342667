// Colours are decided when chalk loads; force them on for this file only (restored after).
import { vi } from 'vitest';

const previousForceColor = vi.hoisted(() => {
  const previous = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = '1';
  return previous;
});

import { cleanup, render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import stripAnsi from 'strip-ansi';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { PipelineProgress } from '../../../src/ui/PipelineProgress.js';
import type { PipelineSinkEvent } from '../../../src/ui/pipeline-store.js';
import { foldPipelineEvent, initialPipelineState } from '../../../src/ui/pipeline-store.js';
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

/** The first line of the frame whose text contains `text`, colours included. */
function lineWith(view: ReactElement, text: string): string {
  const { lastFrame } = render(view);
  const line = (lastFrame() ?? '').split('\n').find((candidate) => stripAnsi(candidate).includes(text));
  if (line === undefined) throw new Error(`no line with ${text}`);
  return line;
}

describe('UpProgress colours', () => {
  const state = [
    { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web', 'worker', 'cache'] },
    { type: 'service', at: 0, service: 'db', phase: 'healthy' },
    { type: 'service', at: 0, service: 'web', phase: 'building' },
    { type: 'build-log', at: 1, service: 'web', line: 'Step 1/4 : FROM node' },
    { type: 'service', at: 0, service: 'worker', phase: 'failed', detail: 'exited (1)' },
    { type: 'service', at: 0, service: 'cache', phase: 'unchanged' },
  ].reduce<ReturnType<typeof initialProgressState>>((s, e) => foldEvent(s, e as EnvctlEvent), initialProgressState());
  const view = <UpProgress state={state} now={1000} columns={100} />;

  it.each([
    ['db', GREEN, 'healthy'],
    ['web', YELLOW, 'building'],
    ['worker', RED, 'failed'],
    ['cache', GREY, 'unchanged'],
  ])('%s is coloured %j', (name, colour, phase) => {
    expect(lineWith(view, ` ${name} `)).toContain(`${colour}${phase}`);
  });

  it('shows the failure detail in red and build output dimmed', () => {
    expect(lineWith(view, 'exited (1)')).toContain(`${RED}exited (1)`);
    expect(lineWith(view, 'Step 1/4')).toContain(`${DIM}    Step 1/4 : FROM node`);
  });
});

describe('PipelineProgress colours', () => {
  const events: PipelineSinkEvent[] = [
    { type: 'pipeline', at: 0, runId: 'r1', project: 'demo', env: '', stages: ['build', 'integration', 'perf', 'staging'] },
    { type: 'stage', at: 0, stage: 'build', status: 'passed' },
    { type: 'stage', at: 0, stage: 'integration', status: 'failed', detail: 'npm test exited 1' },
    { type: 'check', at: 0, stage: 'integration', name: 'api returns 200', status: 'failed', detail: 'got 500' },
    { type: 'stage', at: 0, stage: 'perf', status: 'skipped' },
    { type: 'stage', at: 0, stage: 'staging', status: 'running' },
    { type: 'stage-output', at: 1, stage: 'staging', line: 'web  running (1.0s)' },
  ];
  const state = events.reduce(foldPipelineEvent, initialPipelineState());
  const view = <PipelineProgress state={state} now={1000} columns={100} />;

  it.each([
    ['build', GREEN, 'passed'],
    ['integration', RED, 'failed'],
    ['perf', GREY, 'skipped'],
    ['staging', YELLOW, 'running'],
  ])('%s is coloured %j', (name, colour, status) => {
    expect(lineWith(view, ` ${name} `)).toContain(`${colour}${status}`);
  });

  it('shows the failure detail and a failed check in red, live output dimmed', () => {
    expect(lineWith(view, 'npm test exited 1')).toContain(`${RED}npm test exited 1`);
    expect(lineWith(view, 'api returns 200')).toContain(`${RED}    ✖ api returns 200: got 500`);
    expect(lineWith(view, 'web  running')).toContain(`${DIM}    web  running (1.0s)`);
  });
});
