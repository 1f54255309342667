/**
 * Bind sources are re-checked right before a container is created: a symlink planted after load
 * (by a container writing through another bind mount) is refused, and Docker gets real paths.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../../src/definition/resolve.js';
import { confineBindsAtCreate, confineModelBinds, confineVolumeDeviceAtCreate } from '../../../src/engine/bind-recheck.js';
import { containerSpecFor } from '../../../src/engine/container-spec.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { ContainerSpec } from '../../../src/engine/types.js';
import { hashService } from '../../../src/plan/hash.js';
import { localRuntime } from '../../../src/release/runtime.js';
import { prepareSwarm, type SwarmContext } from '../../../src/swarm/deploy.js';

let root: string;
let project: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-recheck-'));
  project = join(root, 'project');
  await mkdir(join(root, 'outside'), { recursive: true });
  await mkdir(project);
  await writeFile(join(project, 'envctl.yaml'), 'services:\n  a: { image: x, volumes: [".:/w"] }\n  b: { image: x, volumes: ["./x:/data"] }\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function specOfB(allowPrivileged = false) {
  const model = await loadDefinition({ cwd: project, file: join(project, 'envctl.yaml'), processEnv: {}, allowPrivileged });
  const service = model.services.b!;
  return { model, spec: containerSpecFor(model, service, { name: 'b', image: 'x', hash: hashService(service, 'x', model) }) };
}

describe('bind sources re-checked at create', () => {
  it('refuses ./x when it became a symlink to /etc after load', async () => {
    const { model, spec } = await specOfB();
    await symlink('/etc', join(project, 'x'));
    await expect(confineBindsAtCreate(spec, model.bindPolicy, 'b')).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED', exitCode: 2 });
  });

  it('refuses ./x when it became a symlink outside the project after load', async () => {
    const { model, spec } = await specOfB();
    await symlink(join(root, 'outside'), join(project, 'x'));
    await expect(confineBindsAtCreate(spec, model.bindPolicy, 'b')).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED' });
  });

  it('hands Docker the real path of a source that stayed inside', async () => {
    const { model, spec } = await specOfB();
    await mkdir(join(project, 'real'));
    await symlink(join(project, 'real'), join(project, 'x'));
    const checked = await confineBindsAtCreate(spec, model.bindPolicy, 'b');
    expect(checked.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(project, 'real'));
  });
});

describe('bind sources re-checked before a swarm deploy', () => {
  const load = () => loadDefinition({ cwd: project, file: join(project, 'envctl.yaml'), processEnv: {} });

  it('refuses ./x when it became a symlink to /etc after load, for the whole model', async () => {
    const model = await load();
    await symlink('/etc', join(project, 'x'));
    await expect(confineModelBinds(model)).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED', exitCode: 2, message: expect.stringContaining('service "b"') });
  });

  it('gives every service its real bind paths and leaves the loaded model alone', async () => {
    const model = await load();
    await mkdir(join(project, 'real'));
    await symlink(join(project, 'real'), join(project, 'x'));
    const checked = await confineModelBinds(model);
    expect(checked.services.b!.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(project, 'real'));
    expect(model.services.b!.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(project, 'x'));
  });

  it('prepareSwarm (plan and up --target swarm) re-checks before it reads the engine', async () => {
    const model = await load();
    await symlink(join(root, 'outside'), join(project, 'x'));
    const untouched = () => {
      throw new Error('the engine was asked before the bind sources were checked');
    };
    const context = { engine: { imageIds: untouched }, swarm: {}, registry: undefined, now: Date.now } as unknown as SwarmContext;
    await expect(prepareSwarm(model, context, false)).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED' });
  });
});

describe('a bind volume device re-checked before the volume is created', () => {
  const load = async () => {
    await writeFile(join(project, 'envctl.yaml'), 'services:\n  a: { image: x, volumes: ["data:/data"] }\nvolumes:\n  data: { driver_opts: { type: none, o: bind, device: ./store } }\n');
    await mkdir(join(project, 'store'));
    return loadDefinition({ cwd: project, file: join(project, 'envctl.yaml'), processEnv: {} });
  };

  it('refuses a device folder that became a symlink to /etc after load', async () => {
    const model = await load();
    await rm(join(project, 'store'), { recursive: true });
    await symlink('/etc', join(project, 'store'));
    await expect(confineVolumeDeviceAtCreate(model.volumes.data!, model.bindPolicy)).rejects.toMatchObject({
      code: 'BIND_SOURCE_CHANGED',
      exitCode: 2,
      message: expect.stringContaining('volume "data" (driver_opts.device)'),
    });
  });

  it('refuses one that now leads outside the project, and keeps an unchanged one as it was', async () => {
    const model = await load();
    const unchanged = await confineVolumeDeviceAtCreate(model.volumes.data!, model.bindPolicy);
    expect(unchanged.driverOpts).toEqual({ type: 'none', o: 'bind', device: join(project, 'store') });
    await rm(join(project, 'store'), { recursive: true });
    await symlink(join(root, 'outside'), join(project, 'store'));
    await expect(confineVolumeDeviceAtCreate(model.volumes.data!, model.bindPolicy)).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED', message: expect.stringContaining('outside the project folder') });
  });
});

describe('bind sources re-checked before a release slot is created', () => {
  const prod = { id: 'prod', name: 'b', image: 'x:1' };
  it('refuses the canary of b when ./x became a symlink to /etc, before asking the engine to create it', async () => {
    const { model } = await specOfB();
    await symlink('/etc', join(project, 'x'));
    const created: unknown[] = [];
    const engine = { createContainer: async (spec: unknown) => (created.push(spec), 'id') } as unknown as Engine;
    await expect(localRuntime(engine).createSlot(model, model.services.b!, 'canary', 'x:2', 'r1', prod)).rejects.toMatchObject({ code: 'BIND_SOURCE_CHANGED', exitCode: 2 });
    expect(created).toEqual([]);
  });

  it('creates the baseline with the real path of a source that stayed inside', async () => {
    const { model } = await specOfB();
    await mkdir(join(project, 'real'));
    await symlink(join(project, 'real'), join(project, 'x'));
    const created: ContainerSpec[] = [];
    const engine = { createContainer: async (spec: ContainerSpec) => (created.push(spec), 'id') } as unknown as Engine;
    await localRuntime(engine).createSlot(model, model.services.b!, 'baseline', 'x:1', 'r1', prod);
    expect(created[0]?.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(project, 'real'));
  });
});
