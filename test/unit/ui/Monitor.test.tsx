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
import { MonitorView, monitorLayout } from '../../../src/ui/Monitor.js';
import { foldMonitor, type MonitorEvent, type MonitorState, type PipelineView } from '../../../src/ui/monitor-store.js';
import { ENGINE, logs, PROXY, RELEASE, stateOf, T0 } from './monitor-fixtures.js';

/** The proxy 2 s before PROXY: 20 canary requests (10/s) and the one bad one since. */
const EARLIER = { ...PROXY, arms: { ...PROXY.arms, canary: { ...PROXY.arms.canary, requests: 100, bad: 0 }, prod: { ...PROXY.arms.prod, requests: 200 } } };
import { CLEAR_SCREEN, expectTerminalSafe, OSC52_CLIPBOARD } from './support.js';

afterEach(() => cleanup());
afterAll(() => {
  if (previousForceColor === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = previousForceColor;
});

const PIPELINE: PipelineView = {
  id: '20261126T115500Z-a1b2',
  status: 'failed',
  startedAt: '2026-11-26T11:55:00Z',
  stages: [
    { name: 'build', status: 'passed', durationMs: 12_300, detail: undefined },
    { name: 'integration', status: 'failed', durationMs: 8_200, detail: 'npm test exited 1' },
    { name: 'perf', status: 'skipped', durationMs: undefined, detail: undefined },
  ],
};

const LOGS = logs(['web', 'GET /api/items 200 3ms'], ['db', 'checkpoint complete'], ['web', 'ERROR upstream timed out']);

function frame(state: MonitorState, columns: number, rows: number): { raw: string; lines: string[] } {
  const { lastFrame } = render(<MonitorView state={state} columns={columns} rows={rows} />);
  const raw = lastFrame() ?? '';
  return { raw, lines: stripAnsi(raw).split('\n') };
}

/** Every chart's width at 60 (58 inside the pane) and 140 columns (the side panel, 62 inside). */
function chartWidthAt(columns: number): number {
  return Math.floor(((columns >= 120 ? 64 : columns) - 2 - 9 - 4) / 3);
}

/**
 * 31 readings 2 s apart: the canary serves 10 req/s, then 20 in the last interval; 2 of 10
 * requests fail in the one before it; its step p99 grows by 1 ms a reading. The baseline is idle.
 */
function withTrend(): MonitorState {
  const readings = Array.from({ length: 31 }, (_, index): MonitorEvent => {
    const requests = 100 + index * 20 + (index === 30 ? 20 : 0);
    const bad = index >= 29 ? 2 : 0;
    return { type: 'proxy', at: T0 + index * 2000, error: undefined, proxy: { ...PROXY, arms: { ...PROXY.arms, canary: { ...PROXY.arms.canary, requests, bad, stepP99Ms: 10 + index } } } };
  });
  return stateOf([ENGINE, LOGS, { type: 'release', release: RELEASE }, ...readings, { type: 'pipeline', pipeline: PIPELINE }]);
}

function withAll(...extra: MonitorEvent[]): MonitorState {
  return stateOf([ENGINE, LOGS, { type: 'release', release: RELEASE }, { type: 'proxy', at: T0 - 2000, proxy: EARLIER, error: undefined }, { type: 'proxy', at: T0, proxy: PROXY, error: undefined }, { type: 'pipeline', pipeline: PIPELINE }, ...extra]);
}

describe.each([
  { columns: 60, rows: 40 },
  { columns: 140, rows: 40 },
])('MonitorView at $columns columns', ({ columns, rows }) => {
  it('fills the screen exactly: no line wider than the terminal, exactly `rows` lines', () => {
    const { lines } = frame(withAll(), columns, rows);
    expect(lines).toHaveLength(rows);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
  });

  it('shows each service with its state and health, and the selected one’s details', () => {
    const { lines } = frame(withAll(), columns, rows);
    const text = lines.join('\n');
    expect(lines.find((line) => line.includes('› web'))).toMatch(/› web +running +healthy +1m05s/);
    expect(lines.find((line) => /\bdb +running/.test(line))).toMatch(/db +running +healthy/);
    expect(text).toMatch(/worker +not created/);
    expect(text).toContain('container shop-web');
    expect(text).toContain('50.0 MiB');
    expect(text).toContain('1.5%');
  });

  it('shows the release: status, step, weights, per-arm figures, the verdict and the gate', () => {
    const { lines } = frame(withAll(), columns, rows);
    const text = lines.join('\n');
    expect(lines.some((line) => /^│release +│/.test(line) || /│release +│$/.test(line))).toBe(true);
    expect(text).toContain(`${RELEASE.id} web · gate · step 2`);
    expect(text).toContain('weights canary 25% · baseline 25% · prod 50%');
    // Requests, bad, p50, p99 since the proxy started; req/s and err % of the last interval (1 bad of 20).
    expect(text).toMatch(/canary +120 +1 +3\.2 +12\.5 +10\.0 +5\.0\b/);
    expect(text).toMatch(/prod +240 +0 +3\.0 +10\.4 +20\.0 +0\.0\b/);
    expect(text).toMatch(/baseline +118 +0 +3\.1 +11\.9 +0\.0 +-/);
    expect(text).toContain('judge continue: canary p99 within 10% of baseline');
    expect(text).toContain('gate  a approves · manual approval before step 3');
  });

  it('shows the merged logs with the service of each line, error lines in red', () => {
    const { raw, lines } = frame(withAll(), columns, rows);
    expect(lines.some((line) => /12:00:00 web +\| GET \/api\/items 200 3ms/.test(line))).toBe(true);
    expect(lines.some((line) => /12:00:01 db +\| checkpoint complete/.test(line))).toBe(true);
    const errorLine = raw.split('\n').find((line) => line.includes('ERROR upstream timed out'))!;
    expect(errorLine).toContain('\u001b[31m');
    expect(lines.find((line) => line.includes('logs ·'))).toContain('logs · all services · following');
  });

  it('charts each arm’s request rate, error rate and step p99 over the last readings, as many as fit', () => {
    const { raw, lines } = frame(withTrend(), columns, rows);
    const header = lines.findIndex((line) => /trends +req\/s +err % +p99 ms \(step\)/.test(line));
    expect(header).toBeGreaterThan(lines.findIndex((line) => line.includes('judge ')));
    const charts = (arm: string) => lines.slice(header + 1, header + 4).find((line) => line.includes(`│${arm} `))!;
    // Canary: the rate doubles, errors in one interval only, the step p99 climbs; baseline idle.
    const canary = /│canary +([▁-█]+) +([▁-█]+) +([▁-█]+)/.exec(charts('canary'))!;
    expect(canary[1]).toBe('▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅▅█'.slice(-chartWidthAt(columns)));
    expect(canary.slice(2)).toEqual(['▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁█▁'.slice(-chartWidthAt(columns)), expect.stringMatching(new RegExp(`^[▁-█]{${chartWidthAt(columns) - 1}}█$`))]);
    expect(charts('baseline')).toMatch(/│baseline ▁+ {2,}/);
    // The whole pane stays inside the terminal.
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
    expectTerminalSafe(raw);
  });

  it('shows the keys in the footer, and a question in place of the status line', () => {
    const state = withAll({ type: 'prompt', prompt: { action: 'restart', question: 'restart web (container shop-web)?', containerId: 'id-web', service: 'web' } });
    const { lines } = frame(state, columns, rows);
    expect(lines.at(-2)).toContain('restart web (container shop-web)? [y/N]');
    expect(lines.at(-1)).toMatch(/^Tab services\/logs\/release/);
  });
});

describe('MonitorView layouts', () => {
  it('puts the release and pipeline panels beside the services when wide, below when narrow', () => {
    const state = withAll();
    expect(monitorLayout(state, 140, 40)).toMatchObject({ wide: true });
    expect(monitorLayout(state, 60, 40)).toMatchObject({ wide: false });
    const wide = frame(state, 140, 40).lines;
    const servicesRow = wide.findIndex((line) => line.includes('› web'));
    expect(wide[servicesRow]).toMatch(/│.*› web.*│.*│/);
    const wideText = wide.join('\n');
    expect(wideText).toMatch(/✖ integration +failed +8\.2s +npm test exited 1/);
    const narrow = frame(state, 60, 40).lines;
    expect(narrow.findIndex((line) => line.includes('release'))).toBeGreaterThan(narrow.findIndex((line) => line.includes('› web')));
    expect(narrow.join('\n')).toContain('pipeline failed: ✔ build ✖ integration – perf');
  });

  it('gives the logs what is left, and keeps at least a few log rows on a small terminal', () => {
    const layout = monitorLayout(withAll(), 60, 24);
    expect(layout.services + layout.release + layout.pipeline + layout.logs).toBe(24 - 3);
    expect(layout.logs).toBeGreaterThanOrEqual(5);
    const { lines } = frame(withAll(), 60, 24);
    expect(lines).toHaveLength(24);
  });

  it('says when no controller drives a release that needs one', () => {
    const orphaned = frame(withAll({ type: 'release', release: { ...RELEASE, controllerRunning: false } }), 140, 40).lines.join('\n');
    expect(orphaned).toContain(`${RELEASE.id} web · gate · step 2 · no controller`);
    const ended = frame(withAll({ type: 'release', release: { ...RELEASE, status: 'promoted', gate: undefined, outcome: 'promoted after 4 steps', controllerRunning: false } }), 140, 40).lines.join('\n');
    expect(ended).not.toContain('no controller');
    expect(ended).toContain('outcome promoted after 4 steps');
  });

  it('shows help in place of the logs', () => {
    const text = frame(withAll({ type: 'help', open: true }), 100, 40).lines.join('\n');
    expect(text).toContain('keys (any key closes this help)');
    expect(text).toContain('restart the selected service (asks y/n)');
    expect(text).toMatch(/^│p +promote the release waiting at its gate before promotion \(asks y\/n\)/m);
  });

  it.each([60, 140])('at %i columns, says p promotes a release waiting before promotion, a approves any other gate', (columns) => {
    const beforePromotion = withAll({ type: 'release', release: { ...RELEASE, step: 3, gate: { ...RELEASE.gate!, reason: 'manual approval before promotion' }, verdict: { action: 'gate', reasons: ['manual approval before promotion'], gateBefore: 'promote' } } }, { type: 'focus', delta: -1 });
    const promoting = frame(beforePromotion, columns, 40).lines;
    expect(promoting.join('\n')).toContain('gate  p promotes · manual approval before promotion');
    expect(promoting.at(-2)).toContain(`p promotes ${RELEASE.id} (it waits at a gate)`);
    expect(promoting.at(-1)).toMatch(/^Tab services\/logs\/release  a approve  p promote/);
    for (const line of promoting) expect([...line].length).toBeLessThanOrEqual(columns);
    const beforeStep = frame(withAll(), columns, 40).lines;
    expect(beforeStep.join('\n')).toContain('gate  a approves · manual approval before step 3');
    expect(beforeStep.at(-2)).toContain(`release ${RELEASE.id} waits at a gate: a approves`);
  });

  it('leaves the charts out, whole, when a narrow terminal has no room for them', () => {
    const text = frame(withTrend(), 60, 24).lines.join('\n');
    expect(text).not.toContain('trends');
    // The panel's other lines all stay (nothing squeezed out).
    for (const expected of [`${RELEASE.id} web · gate · step 2`, 'weights canary 25%', 'arm       requests', 'canary         720', 'baseline       118', 'prod           240', 'judge continue', 'gate  a approves · manual approval']) expect(text).toContain(expected);
    expect(monitorLayout(withTrend(), 60, 40).release).toBe(2 + 9 + 4);
  });

  it('shows only the matching lines while filtering, and says so', () => {
    let state = withAll();
    for (const event of [{ type: 'filter-start' }, { type: 'filter-input', text: 'error' }] as MonitorEvent[]) state = foldMonitor(state, event);
    const { lines } = frame(state, 100, 40);
    expect(lines.find((line) => line.includes('logs ·'))).toContain('filter "error"');
    expect(lines.filter((line) => line.includes(' | '))).toHaveLength(1);
    expect(lines.at(-2)).toContain('filter: error█');
  });

  it('draws a container’s escape sequences as plain text: nothing reaches the terminal', () => {
    const state = withAll(logs(['web', `pwned ${OSC52_CLIPBOARD}${CLEAR_SCREEN}\u001b[?1049l\u001b]8;;http://evil.example\u0007link`]));
    const { raw, lines } = frame(state, 140, 40);
    expectTerminalSafe(raw);
    expect(raw).not.toContain('\u001b[?1049l');
    expect(raw).not.toContain('evil.example');
    expect(lines.some((line) => line.includes('pwned link'))).toBe(true);
  });
});
