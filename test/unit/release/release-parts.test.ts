/**
 * The release's pure parts: the canary and baseline container specs, step weights, the release
 * section's checks, the persisted state and the control requests another process leaves.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../../src/definition/model.js';
import { loadDefinition } from '../../../src/definition/resolve.js';
import { LABEL } from '../../../src/labels.js';
import { stepWeights } from '../../../src/release/controller.js';
import { releaseContext, targetPortOf } from '../../../src/release/release.js';
import { healthOf, slotSpec } from '../../../src/release/slots.js';
import {
  assertReleaseId,
  createReleaseDir,
  dropTrailingFragment,
  newReleaseId,
  readReleaseState,
  releaseDir,
  takeControlRequest,
  writeControlRequest,
  writeReleaseState,
  type ReleaseState,
} from '../../../src/release/store.js';
import { releaseState } from '../../support/release-state.js';
import { releaseConfig } from './judge-support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-release-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function model(yaml: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, processEnv: {} });
}

const SHOP = `
name: shop
services:
  web:
    image: shop-web:1
    ports: ["127.0.0.1:8080:3000"]
    networks: { front: { aliases: [api] }, back: {} }
    environment: { MODE: prod }
    restart: unless-stopped
networks: { front: {}, back: {} }
pipeline:
  release: { service: web }
`;

describe('canary and baseline containers', () => {
  it('are the service’s definition with the new image, labelled, unpublished and without the service’s aliases', async () => {
    const shop = await model(SHOP);
    const spec = slotSpec(shop, shop.services.web!, 'canary', 'shop-web:2', 'r-20261126T120000Z-1a2b');
    expect(spec.name).toBe('shop-web-canary-1a2b');
    expect(spec.image).toBe('shop-web:2');
    expect(spec.env).toEqual({ MODE: 'prod' });
    expect(spec.ports).toEqual([]);
    expect(spec.networks).toEqual([
      { name: 'shop_front', aliases: [] },
      { name: 'shop_back', aliases: [] },
    ]);
    expect(spec.restart).toBe('no');
    expect(spec.labels).toMatchObject({ [LABEL.project]: 'shop', [LABEL.service]: 'web', [LABEL.slot]: 'canary', [LABEL.release]: 'r-20261126T120000Z-1a2b' });
  });

  it('maps engine states to the judge’s health', () => {
    expect(healthOf({ state: 'running', health: undefined })).toBe('running');
    expect(healthOf({ state: 'running', health: 'unhealthy' })).toBe('unhealthy');
    expect(healthOf({ state: 'created', health: undefined })).toBe('starting');
    expect(healthOf({ state: 'exited', health: 'healthy' })).toBe('exited');
  });
});

describe('step weights', () => {
  it('give canary and fresh baseline the step’s share each, production the rest', () => {
    const config = releaseConfig();
    expect([1, 2, 3].map((step) => stepWeights(config, step))).toEqual([
      { canary: 10, baseline: 10, prod: 80 },
      { canary: 25, baseline: 25, prod: 50 },
      { canary: 50, baseline: 50, prod: 0 },
    ]);
  });
});

describe('the release section', () => {
  it('needs a service that publishes or exposes a port', async () => {
    const noPort = await model(SHOP.replace('    ports: ["127.0.0.1:8080:3000"]\n', ''));
    expect(() => targetPortOf(releaseContext(noPort).service)).toThrow(/publishes no port and exposes none/);
    expect(targetPortOf(releaseContext(await model(SHOP)).service)).toBe(3000);
  });

  it('is required, and must name an active service', async () => {
    const shop = await model(SHOP);
    expect(() => releaseContext({ ...shop, pipeline: undefined })).toThrow(/has no pipeline.release section/);
    const other = await model(SHOP.replace('release: { service: web }', 'release: { service: api }'));
    expect(() => releaseContext(other)).toThrow(/"api" is not an active service/);
  });
});

describe('release state', () => {
  const state = (id: string, socket = join(releaseDir(dir, id), 'admin.sock')): ReleaseState =>
    releaseState(id, {
      containers: { proxy: { id: 'p', name: 'shop-web-proxy-1a2b' }, prod: { id: 'w', name: 'shop-web' }, canary: null, baseline: null },
      proxy: { hostPort: 40000, adminSocket: socket },
    });

  it('round-trips through state.json and refuses a damaged one', async () => {
    const id = newReleaseId(new Date('2026-11-26T12:00:00Z'), () => 0.5);
    expect(id).toBe('r-20261126T120000Z-8000');
    await createReleaseDir(dir, id);
    await writeReleaseState(dir, state(id));
    expect(await readReleaseState(dir, id)).toEqual(state(id));
    // A state pointing at a socket outside its folder is refused, not followed.
    await writeReleaseState(dir, state(id, '/tmp/elsewhere.sock'));
    await expect(readReleaseState(dir, id)).rejects.toThrow(/does not belong to its folder/);
    await writeFile(join(releaseDir(dir, id), 'state.json'), '{"id": 1}');
    await expect(readReleaseState(dir, id)).rejects.toThrow(/is not a release state/);
    await expect(readReleaseState(dir, 'r-20261126T120000Z-ffff')).rejects.toThrow(/no release r-20261126T120000Z-ffff/);
  });

  it('drops a line cut off by a kill before anything is appended', async () => {
    const file = join(dir, 'logs.jsonl');
    await writeFile(file, '{"a":1}\n{"b":');
    await dropTrailingFragment(file);
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
    await dropTrailingFragment(file);
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
  });

  it('accepts only release ids (no paths)', () => {
    expect(() => assertReleaseId('../../etc')).toThrow(/is not a release id/);
    expect(() => assertReleaseId('r-20261126T120000Z-1a2b')).not.toThrow();
  });

  it('hands a control request to the controller exactly once', async () => {
    const id = 'r-20261126T120000Z-1a2b';
    await createReleaseDir(dir, id);
    expect(await takeControlRequest(dir, id)).toBeUndefined();
    await writeControlRequest(dir, id, { action: 'approve', actor: 'ann', at: '2026-11-26T12:01:00.000Z' });
    expect(await takeControlRequest(dir, id)).toEqual({ action: 'approve', actor: 'ann', at: '2026-11-26T12:01:00.000Z' });
    expect(await takeControlRequest(dir, id)).toBeUndefined();
  });
});
