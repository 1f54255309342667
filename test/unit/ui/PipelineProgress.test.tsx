import { cleanup, render } from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineProgress } from '../../../src/ui/PipelineProgress.js';
import type { PipelineSinkEvent, PipelineState } from '../../../src/ui/pipeline-store.js';
import { foldPipelineEvent, initialPipelineState } from '../../../src/ui/pipeline-store.js';

afterEach(() => cleanup());

const RUN: PipelineSinkEvent = {
  type: 'pipeline',
  at: 0,
  runId: '20261126T103512Z-a1b2',
  project: 'demo',
  env: 'default',
  stages: ['build', 'integration', 'perf', 'staging'],
};

function stateOf(events: readonly PipelineSinkEvent[]): PipelineState {
  return events.reduce(foldPipelineEvent, initialPipelineState());
}

/** The frame as the terminal shows it: text only, one entry per line. */
function frameLines(state: PipelineState, now: number, columns = 100): string[] {
  const { lastFrame } = render(<PipelineProgress state={state} now={now} columns={columns} />);
  return stripAnsi(lastFrame() ?? '').split('\n');
}

function indexOfRow(lines: readonly string[], name: string): number {
  const index = lines.findIndex((line) => new RegExp(`^. ${name} `).test(line));
  if (index === -1) throw new Error(`no row for ${name} in:\n${lines.join('\n')}`);
  return index;
}

describe('PipelineProgress', () => {
  it('shows the run as a header with its elapsed time, and one pending row per stage in run order', () => {
    expect(frameLines(stateOf([RUN]), 31_400)).toEqual([
      'pipeline 20261126T103512Z-a1b2 for demo (env default)  31.4s',
      '· build        pending',
      '· integration  pending',
      '· perf         pending',
      '· staging      pending',
    ]);
  });

  it('shows a running stage with its elapsed time and its last output lines under it', () => {
    const state = stateOf([
      RUN,
      { type: 'stage', at: 0, stage: 'build', status: 'running' },
      { type: 'stage', at: 12_300, stage: 'build', status: 'passed' },
      { type: 'stage', at: 12_400, stage: 'integration', status: 'running' },
      { type: 'service', at: 10, service: 'db', phase: 'creating' },
      { type: 'service', at: 2110, service: 'db', phase: 'healthy' },
      { type: 'stage-output', at: 15_000, stage: 'integration', line: '> npm test' },
      { type: 'stage-output', at: 15_100, stage: 'integration', line: '\tok 1 - api returns 200' },
    ]);
    const lines = frameLines(state, 20_500);
    const row = indexOfRow(lines, 'integration');
    expect(lines.slice(row - 1, row + 6)).toEqual([
      '✔ build        passed   12.3s',
      '● integration  running   8.1s',
      '    db  creating',
      '    db  healthy (2.1s)',
      '    > npm test',
      // The tab stops at column 8 of the output line.
      '            ok 1 - api returns 200',
      '· perf         pending',
    ]);
  });

  it('shows a failed stage with its detail, its failed checks, how many passed and its last output', () => {
    const state = stateOf([
      RUN,
      { type: 'stage', at: 1000, stage: 'staging', status: 'running' },
      { type: 'check', at: 2000, stage: 'staging', name: 'http web /health', status: 'passed' },
      { type: 'check', at: 2100, stage: 'staging', name: 'port web:3000', status: 'failed', detail: 'nothing listens on 3000 inside web' },
      { type: 'check', at: 2200, stage: 'staging', name: 'mount db:/data', status: 'passed' },
      { type: 'stage-output', at: 2300, stage: 'staging', line: 'web  running (1.0s)' },
      { type: 'stage', at: 9200, stage: 'staging', status: 'failed', detail: '1 check failed' },
    ]);
    const lines = frameLines(state, 10_000);
    const row = indexOfRow(lines, 'staging');
    expect(lines.slice(row)).toEqual([
      '✖ staging      failed   8.2s  1 check failed',
      '    ✖ port web:3000: nothing listens on 3000 inside web',
      '    2 checks passed',
      '    web  running (1.0s)',
    ]);
  });

  it('shows skipped stages without a time, and the summary when done; clocks stop at done', () => {
    const state = stateOf([
      RUN,
      { type: 'stage', at: 0, stage: 'build', status: 'running' },
      { type: 'stage', at: 1000, stage: 'build', status: 'passed' },
      { type: 'check', at: 900, stage: 'build', name: 'image web', status: 'passed', detail: 'unchanged' },
      { type: 'stage', at: 1000, stage: 'integration', status: 'running' },
      { type: 'stage-output', at: 1500, stage: 'integration', line: 'FAIL test/api.test.ts' },
      { type: 'stage', at: 9200, stage: 'integration', status: 'failed', detail: 'npm test exited 1' },
      { type: 'stage', at: 9300, stage: 'perf', status: 'skipped', detail: 'integration failed' },
      { type: 'stage', at: 9300, stage: 'staging', status: 'skipped', detail: 'integration failed' },
      { type: 'pipeline-done', at: 9400, ok: false, cancelled: false, summary: 'run 20261126T103512Z-a1b2: integration failed after 9.4s' },
    ]);
    expect(frameLines(state, 99_000)).toEqual([
      'pipeline 20261126T103512Z-a1b2 for demo (env default)  9.4s',
      '✔ build        passed   1.0s',
      '    1 check passed',
      '✖ integration  failed   8.2s  npm test exited 1',
      '    FAIL test/api.test.ts',
      '– perf         skipped        integration failed',
      '– staging      skipped        integration failed',
      '✖ run 20261126T103512Z-a1b2: integration failed after 9.4s',
    ]);
  });

  it('keeps a running stage’s clock stopped at done when the run is cancelled', () => {
    const state = stateOf([
      RUN,
      { type: 'stage', at: 1000, stage: 'build', status: 'running' },
      { type: 'pipeline-done', at: 4000, ok: false, cancelled: true, summary: 'cancelled after 4.0s' },
    ]);
    const lines = frameLines(state, 60_000);
    expect(lines[indexOfRow(lines, 'build')]).toBe('● build        running  3.0s');
    expect(lines.at(-1)).toBe('■ cancelled after 4.0s');
  });

  it('shows forwarded warnings below the stages, and nothing of an inner done', () => {
    const state = stateOf([
      RUN,
      { type: 'stage', at: 0, stage: 'integration', status: 'running' },
      { type: 'warning', at: 3, message: 'port 8080 is published on all interfaces' },
      { type: 'done', at: 400, ok: true, cancelled: false, summary: '2 services up' },
    ]);
    const lines = frameLines(state, 1000);
    expect(lines.at(-1)).toBe('⚠ port 8080 is published on all interfaces');
    expect(lines.join('\n')).not.toContain('✔ 2 services up');
  });

  it.each([20, 32, 45])('never draws a line wider than %d columns; cut lines end in …', (columns) => {
    const state = stateOf([
      { ...RUN, runId: `20261126T103512Z-${'f'.repeat(60)}` },
      { type: 'stage', at: 0, stage: 'integration', status: 'running', detail: `running ${'npm '.repeat(40)}` },
      { type: 'stage-output', at: 1, stage: 'integration', line: `> ${'x'.repeat(200)}` },
      { type: 'check', at: 2, stage: 'integration', name: 'api', status: 'failed', detail: `expected 200 ${'got 500 '.repeat(40)}` },
    ]);
    const lines = frameLines(state, 1000, columns);
    const tooWide = lines.filter((line) => [...line].length > columns);
    expect(tooWide).toEqual([]);
    expect(lines[0]).toMatch(/^pipeline .*…$/);
    expect(lines[indexOfRow(lines, 'integration')]).toMatch(/…$/);
    expect(lines.find((line) => line.includes('xxxx'))).toMatch(/…$/);
    expect(lines.find((line) => line.includes('✖ api'))).toMatch(/…$/);
  });
});
