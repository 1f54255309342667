import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EnvironmentModel } from '../../../src/definition/model.js';
import { statsSample } from '../../../src/engine/docker-engine.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { ContainerStatsSample, ContainerStatus, ObservedContainer } from '../../../src/engine/types.js';
import { LABEL } from '../../../src/labels.js';
import { ENGINE_POLL_MS, proxyView, watchEngine, watchPipeline, watchRelease, type FeedContext } from '../../../src/monitor/feeds.js';
import type { ProxyAdminStatus } from '../../../src/proxy/admin-client.js';
import type { MonitorEvent } from '../../../src/ui/monitor-store.js';

const RELEASE_ID = 'r-20261126T120000Z-1a2b';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-monitor-feeds-'));
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

function model(): EnvironmentModel {
  return { project: 'shop', env: 'default', prefix: 'shop', projectDir: dir, services: { web: {}, db: {} } } as unknown as EnvironmentModel;
}

/** Runs a feed until it dispatched `count` events of the type, then stops it. */
async function collect(run: (context: FeedContext) => Promise<void>, type: MonitorEvent['type'], count: number, engine = {} as Engine): Promise<MonitorEvent[]> {
  const controller = new AbortController();
  const events: MonitorEvent[] = [];
  const context: FeedContext = {
    model: model(),
    engine,
    signal: controller.signal,
    now: () => 1_000,
    env: { ENVCTL_STATE_HOME: join(dir, 'state') },
    dispatch: (event) => {
      events.push(event);
      if (events.filter((candidate) => candidate.type === type).length >= count) controller.abort();
    },
  };
  await run(context);
  return events;
}

describe('monitor feeds', () => {
  it('reads the latest release of the environment with the judge’s last verdict', async () => {
    const releaseDir = join(dir, '.envctl', 'releases', RELEASE_ID);
    await mkdir(releaseDir, { recursive: true });
    const at = '2026-11-26T12:00:00.000Z';
    await writeFile(
      join(releaseDir, 'state.json'),
      JSON.stringify({
        id: RELEASE_ID, project: 'shop', env: 'default', service: 'web', status: 'gate', step: 2, weights: { canary: 25, baseline: 25, prod: 50 },
        images: { prod: 'web:1', canary: 'web:2' },
        containers: { proxy: { id: 'p', name: 'shop-web-proxy' }, prod: { id: 'a', name: 'shop-web' }, canary: { id: 'c', name: 'shop-web-canary' }, baseline: null },
        proxy: { hostPort: 18080, adminSocket: join(releaseDir, 'admin.sock') }, stepStartsNs: {},
        gate: { reason: 'manual approval', since: at, timeoutAt: at }, outcome: null, startedAt: at, updatedAt: at, retainUntil: null, endNs: null, lastSeq: 0,
      }),
    );
    const verdict = (action: string, reason: Record<string, unknown>) => JSON.stringify({ release: RELEASE_ID, event: 'verdict', action, reasons: [reason] });
    const gate = { code: 'manual-gate', message: 'manual approval before promotion (gates.beforePromote: manual)', before: 'promote', nextWeight: null };
    await writeFile(join(releaseDir, 'events.jsonl'), `${verdict('continue', { code: 'x', message: 'first' })}\n${JSON.stringify({ event: 'step' })}\n${verdict('gate', gate)}\n{"event":"verdi`);
    // The steps as the release resolved them (a final 100 is dropped: promotion follows the last step).
    await writeFile(join(releaseDir, 'config.lock.json'), JSON.stringify({ id: RELEASE_ID, service: 'web', targetPort: 3000, seed: 1, config: { steps: [10, 50] }, images: { prod: 'web:1', canary: 'web:2' } }));

    const events = await collect(watchRelease, 'proxy', 1);
    const release = events.find((event) => event.type === 'release');
    expect(release).toMatchObject({
      release: { id: RELEASE_ID, status: 'gate', step: 2, steps: 2, arms: { canary: true, baseline: false, prod: true }, verdict: { action: 'gate', reasons: [gate.message], gateBefore: 'promote' }, controllerRunning: false },
    });
    expect(events.find((event) => event.type === 'proxy')).toMatchObject({ proxy: undefined, error: expect.stringContaining('not answering') });
  });

  it('reads a release without its config lock as one of unknown steps, and a verdict without a manual gate as such', async () => {
    const releaseDir = join(dir, '.envctl', 'releases', RELEASE_ID);
    await mkdir(releaseDir, { recursive: true });
    const at = '2026-11-26T12:00:00.000Z';
    await writeFile(
      join(releaseDir, 'state.json'),
      JSON.stringify({
        id: RELEASE_ID, project: 'shop', env: 'default', service: 'web', status: 'running', step: 1, weights: { canary: 10, baseline: 10, prod: 80 },
        images: { prod: 'web:1', canary: 'web:2' },
        containers: { proxy: null, prod: { id: 'a', name: 'shop-web' }, canary: { id: 'c', name: 'shop-web-canary' }, baseline: null },
        proxy: null, stepStartsNs: {}, gate: null, outcome: null, startedAt: at, updatedAt: at, retainUntil: null, endNs: null, lastSeq: 0,
      }),
    );
    await writeFile(join(releaseDir, 'events.jsonl'), `${JSON.stringify({ event: 'verdict', action: 'continue', reasons: [{ code: 'collecting', message: 'collecting' }] })}\n`);
    const events = await collect(watchRelease, 'proxy', 1);
    expect(events.find((event) => event.type === 'release')).toMatchObject({ release: { steps: undefined, verdict: { action: 'continue', gateBefore: undefined } } });
  });

  it('takes each arm’s p99 of the proxy’s current step beside the figures since it started', () => {
    const latency = (p99Us: number, count = 10) => ({ count, p50: 1000, p95: p99Us, p99: p99Us, max: p99Us, mean: 1000 });
    const metrics = (requests: number, p99Us: number, count = requests) => ({ requests, bad: 1, status4xx: 0, overrides: 0, upstreamErrors: { connect: 0, reset: 0, timeout: 0 }, latencyUs: latency(p99Us, count) });
    const status = (step: number): ProxyAdminStatus => ({
      weights: { canary: 25, baseline: 25, prod: 50 },
      step,
      inFlight: 0,
      tunnels: 0,
      draining: false,
      metrics: {
        total: { canary: metrics(300, 20_000), baseline: metrics(280, 15_000), prod: metrics(600, 12_000) },
        steps: [
          { step: 1, arms: { canary: metrics(100, 9_000), baseline: metrics(90, 8_000), prod: metrics(500, 7_000) } },
          { step: 2, arms: { canary: metrics(200, 25_000), baseline: metrics(0, 0), prod: metrics(100, 11_000) } },
        ],
      },
      nowNs: '1',
      watermarkNs: '1',
      lastSeq: 0,
    });
    expect(proxyView(status(2)).arms).toEqual({
      canary: { requests: 300, bad: 1, p50Ms: 1, p99Ms: 20, stepP99Ms: 25 },
      // No request of the baseline in this step: no step p99 (not 0 ms).
      baseline: { requests: 280, bad: 1, p50Ms: 1, p99Ms: 15, stepP99Ms: undefined },
      prod: { requests: 600, bad: 1, p50Ms: 1, p99Ms: 12, stepP99Ms: 11 },
    });
    expect(proxyView(status(1)).arms.canary.stepP99Ms).toBe(9);
    // Before the first step (or a proxy without per-step figures): none.
    expect(proxyView(status(0)).arms.canary.stepP99Ms).toBeUndefined();
  });

  it('reads the newest pipeline run record', async () => {
    for (const [id, status] of [['20261126T110000Z-aaaa', 'failed'], ['20261126T115500Z-a1b2', 'passed']] as const) {
      await mkdir(join(dir, '.envctl', 'runs', id), { recursive: true });
      await writeFile(
        join(dir, '.envctl', 'runs', id, 'record.json'),
        JSON.stringify({ version: 1, id, project: 'shop', env: 'default', definition: 'envctl.yaml', ci: false, startedAt: '2026-11-26T11:55:00Z', status, images: {}, stages: [{ name: 'build', status: 'passed', durationMs: 1200, results: [], outputTail: [] }] }),
      );
    }
    const [event] = await collect(watchPipeline, 'pipeline', 1);
    expect(event).toEqual({ type: 'pipeline', pipeline: { id: '20261126T115500Z-a1b2', status: 'passed', startedAt: '2026-11-26T11:55:00Z', stages: [{ name: 'build', status: 'passed', durationMs: 1200, detail: undefined }] } });
  });

  it('folds the engine into containers with details and CPU from two readings, inspecting only on change', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const calls: string[] = [];
    const containers: ObservedContainer[] = [
      { id: 'w1', name: 'shop-web', service: 'web', state: 'running', health: 'healthy', image: 'web:1', labels: {}, created: 0, ports: [{ hostIp: '127.0.0.1', published: 8080, target: 3000, protocol: 'tcp' }] },
      { id: 'c1', name: 'shop-web-canary', service: 'web', state: 'running', health: undefined, image: 'web:2', labels: { [LABEL.slot]: 'canary' }, created: 0, ports: [] },
    ];
    let reading = 0;
    const engine = {
      listContainers: async () => {
        calls.push('list');
        return containers;
      },
      inspectContainer: async (id: string): Promise<ContainerStatus> => {
        calls.push(`inspect ${id}`);
        return { id, name: id, state: 'running', health: undefined, healthOutput: undefined, exitCode: 0, restartCount: 2, oomKilled: false, startedAt: '2026-11-26T12:00:00Z' };
      },
      statsOnce: async (id: string): Promise<ContainerStatsSample> => {
        calls.push(`stats ${id}`);
        return { cpuTotalNs: reading * 1e9, systemCpuNs: reading * 4e9, onlineCpus: 2, memoryBytes: 10, memoryLimitBytes: 100 };
      },
    } as unknown as Engine;
    const done = collect((context) => watchEngine(context, () => (reading += 1)), 'engine', 2, engine);
    await vi.advanceTimersByTimeAsync(ENGINE_POLL_MS);
    const events = await done;
    const [first, second] = events.filter((event) => event.type === 'engine');
    if (first?.type !== 'engine' || second?.type !== 'engine') throw new Error('expected two engine readings');
    expect(first.snapshot.containers.map((container) => container.cpuPercent)).toEqual([undefined, undefined]);
    // 1 s of CPU per 4 s of host CPU time on 2 cores: half a core.
    expect(second.snapshot.containers.map((container) => container.cpuPercent)).toEqual([50, 50]);
    expect(second.snapshot.containers[0]).toMatchObject({ service: 'web', slot: undefined, restarts: 2, startedAt: Date.parse('2026-11-26T12:00:00Z'), ports: ['127.0.0.1:8080->3000/tcp'], memoryBytes: 10 });
    expect(second.snapshot.containers[1]).toMatchObject({ slot: 'canary' });
    expect(calls.filter((call) => call.startsWith('inspect'))).toEqual(['inspect w1', 'inspect c1']);
  });
});

describe('statsSample', () => {
  it('takes the memory without the reclaimable cache (cgroup v1 and v2) and the CPU counters', () => {
    expect(statsSample({ cpu_stats: { cpu_usage: { total_usage: 5, percpu_usage: [2, 3] }, system_cpu_usage: 100 }, memory_stats: { usage: 1000, limit: 4000, stats: { total_inactive_file: 300, cache: 600 } } })).toEqual({
      cpuTotalNs: 5,
      systemCpuNs: 100,
      onlineCpus: 2,
      memoryBytes: 700,
      memoryLimitBytes: 4000,
    });
    expect(statsSample({ cpu_stats: { cpu_usage: { total_usage: 5 }, online_cpus: 4 }, memory_stats: { usage: 1000, stats: { inactive_file: 200 } } })).toMatchObject({ onlineCpus: 4, memoryBytes: 800, memoryLimitBytes: 0, systemCpuNs: 0 });
    expect(statsSample({})).toEqual({ cpuTotalNs: 0, systemCpuNs: 0, onlineCpus: 1, memoryBytes: 0, memoryLimitBytes: 0 });
  });
});
