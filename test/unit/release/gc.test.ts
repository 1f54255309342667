/** `release gc`: a previous version that cannot be removed stays recorded as promoted, so the next gc tries again. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../src/engine/engine.js';
import { EngineApiError } from '../../../src/engine/engine-api.js';
import { gcReleases } from '../../../src/release/release.js';
import { createReleaseDir, readReleaseState, writeReleaseState } from '../../../src/release/store.js';
import { releaseState } from '../../support/release-state.js';

const ID = 'r-20261126T120000Z-8000';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-gc-'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'envctl.yaml'), 'name: shop\nservices:\n  web: { image: shop-web:1 }\n');
  await createReleaseDir(dir, ID);
  // Promoted; the version before it is an earlier release's canary (not the service's own container).
  await writeReleaseState(dir, releaseState(ID, { status: 'promoted', containers: { proxy: null, prod: { id: 'old', name: 'shop-web-canary-0f0f' }, canary: { id: 'new', name: 'shop-web-canary-8000' }, baseline: null }, retainUntil: '2026-11-26T13:00:00.000Z' }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function engine(removeContainer: (id: string) => Promise<void>): { engine: Engine; removed: string[] } {
  const removed: string[] = [];
  return {
    removed,
    engine: {
      stopContainer: async () => undefined,
      removeContainer: async (id: string) => {
        await removeContainer(id);
        removed.push(id);
      },
    } as unknown as Engine,
  };
}

const gc = (fake: Engine) => gcReleases({ load: { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} }, engine: fake, now: () => new Date('2026-11-26T14:00:00Z'), all: false, notify: () => undefined });

describe('release gc', () => {
  it('decommissions the previous version past its retention', async () => {
    const fake = engine(async () => undefined);
    expect((await gc(fake.engine)).decommissioned).toEqual([{ id: ID, container: 'shop-web-canary-0f0f' }]);
    expect(fake.removed).toEqual(['old']);
    expect((await readReleaseState(dir, ID)).status).toBe('decommissioned');
  });

  it('leaves the release promoted when the engine fails to remove it, and the next gc removes it', async () => {
    const failing = engine(async () => {
      throw new EngineApiError('(HTTP code 500) driver failed removing the container', 500);
    });
    await expect(gc(failing.engine)).rejects.toThrow(/driver failed removing the container/);
    expect((await readReleaseState(dir, ID)).status).toBe('promoted');
    const working = engine(async () => undefined);
    expect((await gc(working.engine)).decommissioned).toHaveLength(1);
    expect((await readReleaseState(dir, ID)).status).toBe('decommissioned');
  });
});
