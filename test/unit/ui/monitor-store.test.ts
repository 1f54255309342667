import { describe, expect, it } from 'vitest';
import { keyIntent, type KeyPress } from '../../../src/ui/monitor-keys.js';
import { compareLogTimes, cpuPercent, ERROR_CHART_FLOOR_PERCENT, foldMonitor, initialMonitorState, LOG_BUFFER_LINES, nudgedWeights, promptFor, sparkline, TREND_POINTS, visibleLogLines, waitsForPromotion, type ArmFigures, type MonitorEvent, type MonitorState, type ProxyView, type ReleaseView } from '../../../src/ui/monitor-store.js';
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
    for (let index = 0; index < TREND_POINTS + 10; index += 1) state = foldMonitor(state, reading(T0 + 12_000 + index * 2000, 3 + index));
    expect(state.proxyTrend?.rates.canary).toHaveLength(TREND_POINTS);
  });

  describe('error-rate and p99 trends', () => {
    /** A proxy reading 2 s after the previous one, with the canary's figures changed. */
    const canaryReading = (index: number, canary: Partial<ArmFigures>): MonitorEvent => ({ type: 'proxy', at: T0 + index * 2000, error: undefined, proxy: { ...PROXY, arms: { ...PROXY.arms, canary: { ...PROXY.arms.canary, ...canary } } } });
    const fold = (readings: ReadonlyArray<Partial<ArmFigures>>, from: MonitorState = stateOf([{ type: 'release', release: RELEASE }])) => readings.reduce((state, canary, index) => foldMonitor(state, canaryReading(index, canary)), from);

    it.each([
      {
        name: 'error rate per interval from the deltas of the cumulative counters; no request in an interval: no point (null)',
        readings: [{ requests: 100, bad: 0 }, { requests: 120, bad: 1 }, { requests: 120, bad: 1 }, { requests: 160, bad: 11 }, { requests: 200, bad: 11 }],
        errorPercents: [5, null, 25, 0],
      },
      {
        name: 'the bad count can only be read against the requests of the same interval, not since the start',
        readings: [{ requests: 1000, bad: 500 }, { requests: 1010, bad: 500 }],
        errorPercents: [0],
      },
    ])('$name', ({ readings, errorPercents }) => {
      expect(fold(readings).proxyTrend?.errorPercents.canary).toEqual(errorPercents);
    });

    it.each([
      { name: 'the current step’s p99 when the proxy reports it', readings: [{ stepP99Ms: 10 }, { stepP99Ms: 12 }, { stepP99Ms: 30 }], p99Ms: [12, 30] },
      // A new step without a request of the arm yet: nothing measured, not the p99 since the proxy started.
      { name: 'no point while the current step has no request of the arm', readings: [{ stepP99Ms: 10 }, { stepP99Ms: undefined, p99Ms: 20 }, { stepP99Ms: 8 }], p99Ms: [null, 8] },
    ])('p99 trend: $name', ({ readings, p99Ms }) => {
      expect(fold(readings).proxyTrend?.p99Ms.canary).toEqual(p99Ms);
    });

    it('keeps the three series of every arm aligned and bounded to TREND_POINTS', () => {
      const readings = Array.from({ length: TREND_POINTS + 12 }, (_, index) => ({ requests: 100 + index * 10, bad: index, stepP99Ms: index }));
      const trend = fold(readings).proxyTrend!;
      for (const arm of ['canary', 'baseline', 'prod'] as const) {
        expect(trend.rates[arm]).toHaveLength(TREND_POINTS);
        expect(trend.errorPercents[arm]).toHaveLength(TREND_POINTS);
        expect(trend.p99Ms[arm]).toHaveLength(TREND_POINTS);
      }
      // The newest points: 1 bad in 10 requests, and the step p99 of the last reading.
      expect(trend.errorPercents.canary.at(-1)).toBe(10);
      expect(trend.p99Ms.canary.at(-1)).toBe(TREND_POINTS + 11);
      expect(trend.p99Ms.canary[0]).toBe(12);
    });

    it('starts every series over when the proxy restarted (its counters went down)', () => {
      const trend = fold([{ requests: 100, bad: 2 }, { requests: 120, bad: 3 }, { requests: 5, bad: 0 }]).proxyTrend!;
      expect(trend.rates.canary).toEqual([]);
      expect(trend.errorPercents.canary).toEqual([]);
      expect(trend.p99Ms.canary).toEqual([]);
      expect(trend.recentBad.canary).toBe(0);
    });

    it('draws no frame for an idle proxy once its windows are full', () => {
      const full = fold(Array.from({ length: TREND_POINTS + 2 }, () => ({})));
      expect(foldMonitor(full, canaryReading(TREND_POINTS + 2, {}))).toBe(full);
    });
  });

  it.each([
    { values: [5, 10, 0, 20], floor: 0, chart: '▃▅▁█' },
    { values: [0, 0, 0], floor: 0, chart: '▁▁▁' },
    // Error rates: 5% fills the chart, any error draws above the lowest block, null is a gap.
    { values: [0, 0.5, 5, null, 2], floor: ERROR_CHART_FLOOR_PERCENT, chart: '▁▂█ ▄' },
    { values: [0, 50, 100], floor: ERROR_CHART_FLOOR_PERCENT, chart: '▁▅█' },
    { values: [null, null], floor: 0, chart: '  ' },
  ])('sparkline($values, floor $floor) = "$chart"', ({ values, floor, chart }) => {
    expect(sparkline(values, floor)).toBe(chart);
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

  describe('p (promote)', () => {
    const promoteGate = { status: 'gate', step: 3, gate: { reason: 'manual approval before promotion (gates.beforePromote: manual)', since: RELEASE.gate!.since, timeoutAt: RELEASE.gate!.timeoutAt }, verdict: { action: 'gate', reasons: ['manual approval before promotion (gates.beforePromote: manual)'], gateBefore: 'promote' as const } };

    it.each<{ name: string; release: Partial<ReleaseView>; question: string }>([
      { name: 'the judge holds it before promotion (manual gate, before: promote)', release: promoteGate, question: `promote ${RELEASE.id} (web, step 3 of 3): the canary takes all traffic?` },
      { name: 'at a gate at the last step, the verdict not read yet', release: { ...promoteGate, verdict: undefined }, question: `promote ${RELEASE.id} (web, step 3 of 3): the canary takes all traffic?` },
      {
        name: 'paused on a regression (onRegression: pause): approval promotes over the verdict',
        release: { status: 'gate', step: 1, verdict: { action: 'rollback', reasons: ['canary p99 up 40%'], gateBefore: undefined } },
        question: `promote ${RELEASE.id} (web, step 1 of 3) over the judge's verdict (rollback): the canary takes all traffic?`,
      },
    ])('asks to promote when $name', ({ release, question }) => {
      const state = withRelease(release);
      expect(waitsForPromotion(state.release!)).toBe(true);
      expect(promptFor(state, 'promote')).toEqual({ ok: true, value: { action: 'promote', question, releaseId: RELEASE.id } });
    });

    it.each<{ name: string; release: Partial<ReleaseView> | undefined; reason: string }>([
      { name: 'no controller holds the release', release: { ...promoteGate, controllerRunning: false }, reason: `no controller runs for ${RELEASE.id}: run \`envctl release approve ${RELEASE.id}\` (it promotes the release)` },
      { name: 'running a step before the last', release: { status: 'running', step: 1, gate: undefined }, reason: 'the release is at step 1 of 3: promotion follows the last step; `a` approves a waiting gate' },
      { name: 'running, its steps unknown', release: { status: 'running', step: 1, gate: undefined, steps: undefined }, reason: 'the release is at step 1: promotion follows the last step; `a` approves a waiting gate' },
      { name: 'preparing', release: { status: 'preparing', step: 0, gate: undefined }, reason: 'the release is at step 0 of 3: promotion follows the last step; `a` approves a waiting gate' },
      {
        name: 'at a gate before its next step',
        release: { verdict: { action: 'gate', reasons: ['manual approval before the 50% step (gates.beforeStep)'], gateBefore: 'step' } },
        reason: 'the release waits at a gate at step 2 of 3, before its next step: promotion follows the last step; `a` approves this gate',
      },
      { name: 'already promoted', release: { status: 'promoted', gate: undefined }, reason: `release ${RELEASE.id} is already promoted` },
      { name: 'rolled back', release: { status: 'rolled-back', gate: undefined }, reason: `release ${RELEASE.id} is rolled-back: it has ended, nothing to promote` },
      { name: 'there is no release', release: undefined, reason: 'no release of this environment' },
    ])('explains why it cannot promote when $name', ({ release, reason }) => {
      const state = release === undefined ? stateOf([ENGINE]) : withRelease(release);
      expect(promptFor(state, 'promote')).toEqual({ ok: false, reason });
    });
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
    expect(keyIntent(state, key('a'))).toEqual({ kind: 'ask', action: 'approve' });
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

  it('p asks to promote from any pane; while a question, the filter or the help is open it is what those make of a key', () => {
    const state = stateOf([ENGINE, { type: 'release', release: { ...RELEASE, step: 3, verdict: { action: 'gate', reasons: [], gateBefore: 'promote' } } }]);
    for (const focused of [state, foldMonitor(state, { type: 'focus', delta: 1 }), foldMonitor(state, { type: 'focus', delta: -1 })]) expect(keyIntent(focused, key('p'))).toEqual({ kind: 'ask', action: 'promote' });
    const asked = promptFor(state, 'promote');
    if (!asked.ok) throw new Error(asked.reason);
    const prompting = foldMonitor(state, { type: 'prompt', prompt: asked.value });
    expect(keyIntent(prompting, key('p'))).toEqual({ kind: 'event', event: { type: 'prompt', prompt: undefined } });
    expect(keyIntent(prompting, key('y'))).toEqual({ kind: 'confirm', prompt: { action: 'promote', question: expect.stringContaining('promote'), releaseId: RELEASE.id } });
    expect(keyIntent(foldMonitor(state, { type: 'filter-start' }), key('p'))).toEqual({ kind: 'event', event: { type: 'filter-input', text: 'p' } });
    expect(keyIntent(foldMonitor(state, { type: 'help', open: true }), key('p'))).toEqual({ kind: 'event', event: { type: 'help', open: false } });
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
