import { cleanup, render } from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { foldEvent, initialProgressState } from '../../../src/ui/progress-store.js';
import type { ProgressState } from '../../../src/ui/progress-store.js';
import { UpProgress } from '../../../src/ui/UpProgress.js';

afterEach(() => cleanup());

const UP: EnvctlEvent = { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web', 'worker'] };

function stateOf(events: readonly EnvctlEvent[]): ProgressState {
  return events.reduce(foldEvent, initialProgressState());
}

/** The frame as the terminal shows it: text only, one entry per line. */
function frameLines(state: ProgressState, now: number, columns = 100): string[] {
  const { lastFrame } = render(<UpProgress state={state} now={now} columns={columns} />);
  return stripAnsi(lastFrame() ?? '').split('\n');
}

function rowOf(lines: readonly string[], name: string): string {
  const row = lines.find((line) => new RegExp(`^. ${name} `).test(line));
  if (row === undefined) throw new Error(`no row for ${name} in:\n${lines.join('\n')}`);
  return row;
}

describe('UpProgress', () => {
  it('shows the operation as a header with its elapsed time', () => {
    expect(frameLines(stateOf([UP]), 7400)[0]).toBe('up shop (env local)  7.4s');
    const down = stateOf([{ type: 'operation', at: 0, operation: 'down', project: 'shop', env: '', services: ['web'] }]);
    expect(frameLines(down, 1000)[0]).toBe('down shop  1.0s');
  });

  it('shows one row per service in the order of the operation, names padded', () => {
    const lines = frameLines(stateOf([UP]), 0);
    expect(lines.slice(1, 4)).toEqual(['· db      pending', '· web     pending', '· worker  pending']);
  });

  it('shows a failed service with its name, "failed" and the detail', () => {
    const state = stateOf([
      UP,
      { type: 'service', at: 100, service: 'worker', phase: 'starting' },
      { type: 'service', at: 500, service: 'worker', phase: 'failed', detail: 'exited (1)' },
    ]);
    expect(rowOf(frameLines(state, 2000), 'worker')).toBe('✖ worker  failed   0.4s  exited (1)');
  });

  it('shows phases in words with their markers', () => {
    const state = stateOf([
      UP,
      { type: 'service', at: 0, service: 'db', phase: 'health' },
      { type: 'service', at: 0, service: 'web', phase: 'waiting', detail: 'db' },
      { type: 'service', at: 0, service: 'worker', phase: 'unchanged' },
    ]);
    const lines = frameLines(state, 1500);
    expect(rowOf(lines, 'db')).toMatch(/^● db +waiting for health +1\.5s$/);
    expect(rowOf(lines, 'web')).toMatch(/^● web +waiting for dependencies +1\.5s  db$/);
    expect(rowOf(lines, 'worker')).toMatch(/^– worker +unchanged$/);
  });

  it('shows elapsed time in the phase and in total while in progress, the total once settled', () => {
    const state = stateOf([
      UP,
      { type: 'service', at: 1000, service: 'db', phase: 'creating' },
      { type: 'service', at: 5200, service: 'db', phase: 'healthy' },
      { type: 'service', at: 1000, service: 'web', phase: 'recreating', detail: 'changed: environment' },
      { type: 'service', at: 5300, service: 'web', phase: 'starting' },
    ]);
    const lines = frameLines(state, 8400);
    // Times are right-aligned, so totals line up.
    expect(rowOf(lines, 'db')).toBe('✔ db      healthy          4.2s');
    expect(rowOf(lines, 'web')).toBe('● web     starting  3.1s / 7.4s');
  });

  it('stops the clocks at done', () => {
    const state = stateOf([
      UP,
      { type: 'service', at: 1000, service: 'db', phase: 'creating' },
      { type: 'done', at: 3000, ok: false, cancelled: true, summary: 'cancelled: 1 of 3 services up' },
    ]);
    const lines = frameLines(state, 99_000);
    expect(lines[0]).toBe('up shop (env local)  3.0s');
    expect(rowOf(lines, 'db')).toMatch(/creating +2\.0s$/);
    expect(lines.at(-1)).toBe('■ cancelled: 1 of 3 services up');
  });

  it('shows the last build output lines under a building service and hides them after', () => {
    const building: EnvctlEvent[] = [
      UP,
      { type: 'service', at: 0, service: 'web', phase: 'building' },
      ...['Step 1/4 : FROM node', 'Step 2/4 : COPY . .', 'Step 3/4 : RUN\tnpm ci', 'Step 4/4 : CMD node'].map(
        (line, i): EnvctlEvent => ({ type: 'build-log', at: 10 * i, service: 'web', line }),
      ),
    ];
    const whileBuilding = frameLines(stateOf(building), 2000);
    const webRow = whileBuilding.findIndex((line) => line.startsWith('● web '));
    expect(whileBuilding.slice(webRow + 1, webRow + 4)).toEqual([
      '    Step 2/4 : COPY . .',
      // The tab stops at column 16 of the build line.
      '    Step 3/4 : RUN  npm ci',
      '    Step 4/4 : CMD node',
    ]);
    expect(whileBuilding[webRow + 4]).toMatch(/^· worker /);


    const afterBuild = frameLines(stateOf([...building, { type: 'service', at: 3000, service: 'web', phase: 'built' }]), 4000);
    expect(afterBuild.join('\n')).not.toContain('Step');
  });

  it('keeps the build output of a failed build visible', () => {
    const lines = frameLines(
      stateOf([
        UP,
        { type: 'service', at: 0, service: 'web', phase: 'building' },
        { type: 'build-log', at: 1, service: 'web', line: 'npm ERR! missing script: build' },
        { type: 'service', at: 2, service: 'web', phase: 'failed', detail: 'build failed' },
      ]),
      10,
    );
    expect(lines).toContain('    npm ERR! missing script: build');
  });

  it('shows resources, warnings and the summary below the services', () => {
    const lines = frameLines(
      stateOf([
        UP,
        { type: 'resource', at: 1, kind: 'network', name: 'shop_default', action: 'created' },
        { type: 'resource', at: 2, kind: 'volume', name: 'shop_dbdata', action: 'created' },
        { type: 'warning', at: 3, message: 'port 8080 is published on all interfaces' },
        { type: 'done', at: 4000, ok: true, cancelled: false, summary: '3 services up in 4.0s' },
      ]),
      5000,
    );
    expect(lines.slice(4)).toEqual(['resources: 2 created', '⚠ port 8080 is published on all interfaces', '✔ 3 services up in 4.0s']);
  });

  it.each([20, 32, 45])('never draws a line wider than %d columns; cut lines end in …', (columns) => {
    const state = stateOf([
      UP,
      { type: 'service', at: 0, service: 'web', phase: 'building' },
      { type: 'build-log', at: 1, service: 'web', line: `Step 3/4 : RUN ${'x'.repeat(200)}` },
      { type: 'service', at: 0, service: 'worker', phase: 'failed', detail: `exited (1): ${'error '.repeat(40)}` },
      { type: 'warning', at: 3, message: 'w'.repeat(300) },
    ]);
    const lines = frameLines(state, 1000, columns);
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(columns);
    expect(rowOf(lines, 'worker')).toMatch(/^✖ worker +failed.*…$/);
    expect(lines.find((line) => line.includes('Step 3/4'))).toMatch(/…$/);
  });
});
