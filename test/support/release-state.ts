/** A release's `state.json` for tests: a running release of service web of project shop at step 1 (no proxy), with `overrides`. */
import type { ReleaseState } from '../../src/release/store.js';

export function releaseState(id: string, overrides: Partial<ReleaseState> = {}): ReleaseState {
  return {
    id,
    project: 'shop',
    env: 'default',
    service: 'web',
    status: 'running',
    step: 1,
    weights: { canary: 10, baseline: 10, prod: 80 },
    images: { prod: 'shop-web:1', canary: 'shop-web:2' },
    containers: { proxy: null, prod: { id: 'w', name: 'shop-web' }, canary: null, baseline: null },
    proxy: null,
    stepStartsNs: { 1: '123' },
    gate: null,
    outcome: null,
    startedAt: '2026-11-26T12:00:00.000Z',
    updatedAt: '2026-11-26T12:00:00.000Z',
    retainUntil: null,
    endNs: null,
    pending: null,
    approvedStep: null,
    lastSeq: 0,
    ...overrides,
  };
}
