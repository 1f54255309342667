/** Fixed monitor states for the store and view tests. */
import { foldMonitor, initialMonitorState, type EngineSnapshot, type MonitorEvent, type MonitorState, type ProxyView, type ReleaseView } from '../../../src/ui/monitor-store.js';

export const T0 = Date.parse('2026-11-26T12:00:00Z');

export function container(service: string, overrides: Partial<EngineSnapshot['containers'][number]> = {}): EngineSnapshot['containers'][number] {
  return {
    service,
    slot: undefined,
    containerId: `id-${service}`,
    container: `shop-${service}`,
    state: 'running',
    health: 'healthy',
    startedAt: T0 - 65_000,
    restarts: 0,
    exitCode: 0,
    cpuPercent: 1.5,
    memoryBytes: 50 * 1024 * 1024,
    memoryLimitBytes: 1024 * 1024 * 1024,
    ports: [],
    image: `shop-${service}:1`,
    ...overrides,
  };
}

export const ENGINE: MonitorEvent = {
  type: 'engine',
  snapshot: { at: T0, declared: ['web', 'db', 'worker'], containers: [container('db'), container('web', { ports: ['127.0.0.1:8080->3000/tcp'] })] },
};

export const RELEASE: ReleaseView = {
  id: 'r-20261126T120000Z-1a2b',
  service: 'web',
  status: 'gate',
  step: 2,
  weights: { canary: 25, baseline: 25, prod: 50 },
  gate: { reason: 'manual approval before step 3', since: '2026-11-26T12:01:00Z', timeoutAt: '2026-11-26T12:31:00Z' },
  outcome: undefined,
  adminSocket: '/tmp/admin.sock',
  proxyPort: 18080,
  arms: { canary: true, baseline: true, prod: true },
  steps: 3,
  verdict: { action: 'continue', reasons: ['canary p99 within 10% of baseline'], gateBefore: undefined },
  controllerRunning: true,
};

export const PROXY: ProxyView = {
  weights: { canary: 25, baseline: 25, prod: 50 },
  step: 2,
  arms: {
    canary: { requests: 120, bad: 1, p50Ms: 3.2, p99Ms: 12.5, stepP99Ms: 14 },
    baseline: { requests: 118, bad: 0, p50Ms: 3.1, p99Ms: 11.9, stepP99Ms: 11 },
    prod: { requests: 240, bad: 0, p50Ms: 3, p99Ms: 10.4, stepP99Ms: 9.8 },
  },
};

export function stateOf(events: readonly MonitorEvent[]): MonitorState {
  return events.reduce(foldMonitor, initialMonitorState('shop', 'local'));
}

export function logs(...lines: Array<[string, string]>): MonitorEvent {
  return { type: 'logs', lines: lines.map(([service, text], index) => ({ service, stream: 'stdout', time: `2026-11-26T12:00:${String(index).padStart(2, '0')}.000Z`, text })) };
}

