import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../../src/definition/model.js';
import type { Engine } from '../../../src/engine/engine.js';
import { handleIntent } from '../../../src/monitor/run-monitor.js';
import { createMonitorStore, type ReleaseView } from '../../../src/ui/monitor-store.js';
import { ENGINE, RELEASE, stateOf, T0 } from '../ui/monitor-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-monitor-run-'));
  // The release's folder, as `release start` leaves it.
  await mkdir(join(dir, '.envctl', 'releases', RELEASE.id), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options() {
  return {
    model: { project: 'shop', env: 'local', projectDir: dir } as unknown as EnvironmentModel,
    engine: {} as Engine,
    cli: { command: 'false', args: [] },
    definitionArgs: [],
    actor: 'ada',
    env: {},
    now: () => T0,
  };
}

const controlFile = () => join(dir, '.envctl', 'releases', RELEASE.id, 'control.json');
const BEFORE_PROMOTION: Partial<ReleaseView> = { step: 3, verdict: { action: 'gate', reasons: ['manual approval before promotion (gates.beforePromote: manual)'], gateBefore: 'promote' } };

describe('monitor actions: p (promote)', () => {
  it('asks y/N, then leaves the approval for the controller, as `a` does', async () => {
    const store = createMonitorStore(stateOf([ENGINE, { type: 'release', release: { ...RELEASE, ...BEFORE_PROMOTION } }]));
    await handleIntent({ kind: 'ask', action: 'promote' }, store, options());
    const prompt = store.state().ui.prompt;
    expect(prompt).toMatchObject({ action: 'promote', releaseId: RELEASE.id });
    await expect(readFile(controlFile(), 'utf8')).rejects.toThrow();
    await handleIntent({ kind: 'confirm', prompt: prompt! }, store, options());
    expect(JSON.parse(await readFile(controlFile(), 'utf8'))).toEqual({ action: 'approve', actor: 'ada', at: new Date(T0).toISOString() });
    expect(store.state().ui).toMatchObject({ prompt: undefined, message: { text: `approval left for the controller of ${RELEASE.id}; it promotes within a second`, level: 'info' } });
  });

  it.each<{ name: string; release: Partial<ReleaseView>; message: string }>([
    { name: 'no controller holds the release', release: { ...BEFORE_PROMOTION, controllerRunning: false }, message: `run \`envctl release approve ${RELEASE.id}\`` },
    { name: 'the release waits before a step', release: {}, message: '`a` approves this gate' },
    { name: 'the release runs a step', release: { status: 'running', step: 1, gate: undefined }, message: 'the release is at step 1 of 3: promotion follows the last step' },
  ])('asks nothing and writes nothing when $name: it says why', async ({ release, message }) => {
    const store = createMonitorStore(stateOf([ENGINE, { type: 'release', release: { ...RELEASE, ...release } }]));
    await handleIntent({ kind: 'ask', action: 'promote' }, store, options());
    expect(store.state().ui.prompt).toBeUndefined();
    expect(store.state().ui.message).toEqual({ text: expect.stringContaining(message), level: 'error' });
    await expect(readFile(controlFile(), 'utf8')).rejects.toThrow();
  });
});
