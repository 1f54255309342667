import { describe, expect, it } from 'vitest';
import { keyIntent, type KeyPress } from '../../../src/ui/monitor-keys.js';
import { compareLogTimes, cpuPercent, foldMonitor, initialMonitorState, LOG_BUFFER_LINES, nudgedWeights, promptFor, sparkline, TREND_POINTS, visibleLogLines, type MonitorEvent, type ProxyView, type ReleaseView } from '../../../src/ui/monitor-store.js';
import { ENGINE, logs, PROXY, RELEASE, stateOf, T0 } from './monitor-fixtures.js';
import { CLEAR_SCREEN, expectPureFold, expectTerminalSafe, OSC52_CLIPBOARD } from './support.js';

describe('monitor store', () => {
  it('folds engine readings into services in the definition order, declared ones without a container as not created', () => {
    const state = stateOf([ENGINE]);
    expect(state.services.map((service) => [service.service, service.state])).toEqual([
      ['web', 'running'],
      ['db', 'running'],
      ['worker', 'not created'],
    ]);
    expect(state.ui.selected).toBe('shop-web');
    expect(state.observedAt).toBe(T0);
  });

  it('never mutates its input and returns the same state when nothing changed', () => {
    expectPureFold(foldMonitor, initialMonitorState('shop', 'local'), [ENGINE, logs(['web', 'hello']), { type: 'focus', delta: 1 }, { type: 'filter-start' }, { type: 'filter-input', text: 'x' }]);
    const state = stateOf([ENGINE]);
    expect(foldMonitor(state, ENGINE)).toBe(state);
    expect(foldMonitor(state, { type: 'proxy', at: T0, proxy: undefined, error: undefined })).toBe(state);
    expect(foldMonitor(state, { type: 'scroll', delta: -1 })).toBe(state);
  });

  it('keeps at most LOG_BUFFER_LINES log lines, dropping the oldest', () => {
    const many = Array.from({ length: LOG_BUFFER_LINES + 500 }, (_, index) => ['web', `line ${index}`] as [string, string]);
    const state = stateOf([ENGINE, { type: 'logs', lines: many.map(([service, text]) => ({ service, stream: 'stdout' as const, time: undefined, text })) }, logs(['db', 'last'])]);
    expect(state.logs.lines).toHaveLength(LOG_BUFFER_LINES);
    expect(state.logs.lines[0]!.text).toBe('line 501');
    expect(state.logs.lines.at(-1)!.text).toBe('last');
    expect(state.logs.dropped).toBe(501);
  });

  it('sanitises log lines: no escape sequence or control character is kept', () => {
    const state = stateOf([logs(['web', `before ${OSC52_CLIPBOARD}${CLEAR_SCREEN}\u009b31m after\u0007`])]);
    const text = state.logs.lines[0]!.text;
    expectTerminalSafe(text);
    expect(text).not.toContain('\u001b');
    // The 8-bit CSI (0x9b) and its parameters go with the rest.
    expect(text).toBe('before  after');
  });

  it('merges a batch of several containers’ lines by the engine’s timestamps, whatever their fraction digits', () => {
    const line = (service: string, time: string, text: string) => ({ service, stream: 'stdout' as const, time, text });
    const state = stateOf([{ type: 'logs', lines: [line('web', '2026-11-26T12:00:01.5Z', 'third'), line('db', '2026-11-26T12:00:01.123456789Z', 'second'), line('web', '2026-11-26T12:00:01Z', 'first')] }]);
    expect(state.logs.lines.map((entry) => entry.text)).toEqual(['first', 'second', 'third']);
    expect(compareLogTimes('2026-11-26T12:00:01.15Z', '2026-11-26T12:00:01.151550375Z')).toBe(-1);
  });

  it('marks error lines', () => {
    const state = stateOf([logs(['web', 'GET / 200'], ['web', 'ERROR db connection refused'], ['worker', '{"level":50,"msg":"job failed"}'], ['web', 'no errors here: terror'])]);
    expect(state.logs.lines.map((line) => line.error)).toEqual([false, true, true, false]);
  });

  it('filters the logs by service (l) and by text (/), and Esc clears both', () => {
    let state = stateOf([ENGINE, logs(['web', 'GET /api 200'], ['db', 'checkpoint'], ['web', 'GET /health 200'], ['db', 'ERROR deadlock'])]);
    state = foldMonitor(state, { type: 'toggle-log-service' });
    expect(visibleLogLines(state, 10).map((line) => line.text)).toEqual(['GET /api 200', 'GET /health 200']);
    state = foldMonitor(state, { type: 'toggle-log-service' });
    for (const event of [{ type: 'filter-start' }, { type: 'filter-input', text: 'err' }] as MonitorEvent[]) state = foldMonitor(state, event);
    expect(visibleLogLines(state, 10).map((line) => line.text)).toEqual(['ERROR deadlock']);
    state = foldMonitor(state, { type: 'filter-end', keep: true });
    expect(state.ui.filter).toBe('err');
    state = foldMonitor(state, { type: 'clear-filters' });
    expect(visibleLogLines(state, 10)).toHaveLength(4);
  });

  it('pauses on scroll up and stays on the same lines while new ones arrive; scrolling to the end follows again', () => {
    let state = stateOf([logs(['web', 'a'], ['web', 'b'], ['web', 'c'], ['web', 'd'])]);
    state = foldMonitor(state, { type: 'scroll', delta: -1 });
    expect(state.ui.follow).toBe(false);
    expect(visibleLogLines(state, 2).map((line) => line.text)).toEqual(['b', 'c']);
    state = foldMonitor(state, logs(['web', 'e']));
    expect(visibleLogLines(state, 2).map((line) => line.text)).toEqual(['b', 'c']);
    state = foldMonitor(state, { type: 'scroll', delta: 5 });
    expect(state.ui.follow).toBe(true);
    expect(visibleLogLines(state, 2).map((line) => line.text)).toEqual(['d', 'e']);
    state = foldMonitor(state, { type: 'toggle-follow' });
    state = foldMonitor(state, logs(['web', 'f']));
    expect(visibleLogLines(state, 1).map((line) => line.text)).toEqual(['e']);
  });

  it('moves the focus through the panes, the release panel only when there is a release', () => {
    let state = stateOf([ENGINE]);
    state = foldMonitor(state, { type: 'focus', delta: 1 });
    expect(state.ui.focus).toBe('logs');
    state = foldMonitor(state, { type: 'focus', delta: 1 });
    expect(state.ui.focus).toBe('services');
    state = foldMonitor(state, { type: 'release', release: RELEASE });
    expect(foldMonitor(state, { type: 'focus', delta: -1 }).ui.focus).toBe('release');
    // The release ends up gone (another folder): its pane loses the focus.
    const focused = foldMonitor(state, { type: 'focus', delta: -1 });
    expect(foldMonitor(focused, { type: 'release', release: undefined }).ui.focus).toBe('services');
  });

  it('keeps a short trend of each arm’s request rate; a restarted proxy starts it over', () => {
    const reading = (at: number, canary: number): MonitorEvent => ({ type: 'proxy', at, error: undefined, proxy: { ...PROXY, arms: { ...PROXY.arms, canary: { ...PROXY.arms.canary, requests: canary } } } });
    let state = stateOf([{ type: 'release', release: RELEASE }]);
    for (const [index, total] of [0, 10, 30, 30, 70].entries()) state = foldMonitor(state, reading(T0 + index * 2000, total));
    expect(state.proxyTrend?.rates.canary).toEqual([5, 10, 0, 20]);
    expect(sparkline(state.proxyTrend!.rates.canary)).toBe('▃▅▁█');
    state = foldMonitor(state, reading(T0 + 10_000, 3));
    expect(state.proxyTrend?.rates.canary).toEqual([]);
    for (let index = 0; index < 20; index += 1) state = foldMonitor(state, reading(T0 + 12_000 + index * 2000, 3 + index));
    expect(state.proxyTrend?.rates.canary).toHaveLength(TREND_POINTS);
  });

  it('computes CPU use from two readings as a share of one core', () => {
    expect(cpuPercent(undefined, { cpuTotalNs: 1, systemCpuNs: 1, onlineCpus: 2 })).toBeUndefined();
    // 0.5 s of CPU over 2 s of wall time on 2 cores (4 s of host CPU time): half a core.
    expect(cpuPercent({ cpuTotalNs: 1e9, systemCpuNs: 100e9 }, { cpuTotalNs: 1.5e9, systemCpuNs: 104e9, onlineCpus: 2 })).toBeCloseTo(25);
  });
});

describe('monitor actions (pure checks before asking)', () => {
  const withRelease = (release: Partial<ReleaseView>, proxy: ProxyView | null = PROXY) =>
    stateOf([ENGINE, { type: 'release', release: { ...RELEASE, ...release } }, { type: 'proxy', at: T0, proxy: proxy ?? undefined, error: undefined }]);

  it('asks before restarting the selected service', () => {
    const asked = promptFor(stateOf([ENGINE]), 'restart');
    expect(asked).toEqual({ ok: true, value: expect.objectContaining({ action: 'restart', containerId: 'id-web', question: 'restart web (container shop-web)?' }) });
    const notCreated = foldMonitor(stateOf([ENGINE]), { type: 'select', delta: 5 });
    expect(promptFor(notCreated, 'restart')).toEqual({ ok: false, reason: 'no container selected to restart' });
  });

  it('approves only a release at a gate, and only through a running controller', () => {
    expect(promptFor(withRelease({}), 'approve')).toMatchObject({ ok: true, value: { releaseId: RELEASE.id } });
    expect(promptFor(withRelease({ controllerRunning: false }), 'approve')).toEqual({ ok: false, reason: `no controller runs for ${RELEASE.id}: run \`envctl release approve\` (it continues the release)` });
    expect(promptFor(withRelease({ status: 'running', gate: undefined }), 'approve')).toMatchObject({ ok: false });
    expect(promptFor(stateOf([ENGINE]), 'approve')).toEqual({ ok: false, reason: 'no release of this environment' });
  });

  it('rolls back a promoted or running release, not one that already ended otherwise', () => {
    expect(promptFor(withRelease({ status: 'promoted', gate: undefined }), 'rollback')).toMatchObject({ ok: true, value: { question: expect.stringContaining('production goes back to the previous version') } });
    expect(promptFor(withRelease({ status: 'rolled-back', gate: undefined }), 'rollback')).toMatchObject({ ok: false });
  });

  it('nudges the canary weight by 5 only in manual mode (release ended, proxy answering)', () => {
    expect(nudgedWeights(withRelease({}), 5)).toMatchObject({ ok: false, reason: expect.stringContaining('its controller sets the weights') });
    const promoted = withRelease({ status: 'promoted', gate: undefined, arms: { canary: true, baseline: false, prod: true } }, { ...PROXY, weights: { canary: 100, baseline: 0, prod: 0 } });
    expect(nudgedWeights(promoted, -5)).toEqual({ ok: true, value: { socket: '/tmp/admin.sock', weights: { canary: 95, baseline: 0, prod: 5 } } });
    expect(nudgedWeights(promoted, 5)).toEqual({ ok: false, reason: 'the canary weight is already 100%' });
    const rolledBack = withRelease({ status: 'rolled-back', gate: undefined, arms: { canary: false, baseline: false, prod: true } }, { ...PROXY, weights: { canary: 0, baseline: 0, prod: 100 } });
    expect(nudgedWeights(rolledBack, 5)).toMatchObject({ ok: false, reason: expect.stringContaining('no canary container') });
    expect(nudgedWeights(withRelease({ status: 'promoted', gate: undefined }, null), 5)).toMatchObject({ ok: false, reason: expect.stringContaining('does not answer') });
  });
});

describe('monitor keys', () => {
  const key = (input: string | undefined, name?: string, extra: Partial<KeyPress> = {}): KeyPress => ({ input, name: name ?? input, ctrl: false, shift: false, ...extra });

  it('maps keys to pane moves, filters, questions and quitting', () => {
    const state = stateOf([ENGINE]);
    expect(keyIntent(state, key(undefined, 'tab'))).toEqual({ kind: 'event', event: { type: 'focus', delta: 1 } });
    expect(keyIntent(state, key(undefined, 'tab', { shift: true }))).toEqual({ kind: 'event', event: { type: 'focus', delta: -1 } });
    expect(keyIntent(state, key(undefined, 'down'))).toEqual({ kind: 'event', event: { type: 'select', delta: 1 } });
    expect(keyIntent(foldMonitor(state, { type: 'focus', delta: 1 }), key(undefined, 'down'))).toEqual({ kind: 'event', event: { type: 'scroll', delta: 1 } });
    expect(keyIntent(state, key('/'))).toEqual({ kind: 'event', event: { type: 'filter-start' } });
    expect(keyIntent(state, key('r'))).toEqual({ kind: 'ask', action: 'restart' });
    expect(keyIntent(state, key('+'))).toEqual({ kind: 'nudge', delta: 5 });
    expect(keyIntent(state, key('-'))).toEqual({ kind: 'nudge', delta: -5 });
    expect(keyIntent(state, key('q'))).toEqual({ kind: 'quit' });
    expect(keyIntent(state, key('c', 'c', { ctrl: true }))).toEqual({ kind: 'quit' });
  });

  it('types into the filter while editing it: q is text there, Enter keeps it', () => {
    const editing = foldMonitor(stateOf([ENGINE]), { type: 'filter-start' });
    expect(keyIntent(editing, key('q'))).toEqual({ kind: 'event', event: { type: 'filter-input', text: 'q' } });
    expect(keyIntent(editing, key('\r', 'return'))).toEqual({ kind: 'event', event: { type: 'filter-end', keep: true } });
    expect(keyIntent(editing, key(undefined, 'escape'))).toEqual({ kind: 'event', event: { type: 'filter-end', keep: false } });
  });

  it('confirms a question only with y; any other key cancels it', () => {
    const asked = promptFor(stateOf([ENGINE]), 'restart');
    if (!asked.ok) throw new Error('expected a prompt');
    const state = foldMonitor(stateOf([ENGINE]), { type: 'prompt', prompt: asked.value });
    expect(keyIntent(state, key('y'))).toEqual({ kind: 'confirm', prompt: asked.value });
    expect(keyIntent(state, key('n'))).toEqual({ kind: 'event', event: { type: 'prompt', prompt: undefined } });
    expect(keyIntent(state, key(undefined, 'return'))).toEqual({ kind: 'event', event: { type: 'prompt', prompt: undefined } });
  });
});
