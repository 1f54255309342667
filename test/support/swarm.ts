/**
 * What the swarm e2e files share: a free loopback port, polling until a check passes, a single-node
 * swarm that the test initialises and leaves itself (only when the engine was not in one), and the
 * removal of everything a test project left in it.
 */
import { createServer } from 'node:net';
import { LABEL } from '../../src/labels.js';
import { docker } from './docker.js';

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
}

/** Polls `check` every 500 ms until it returns a value; the last error is named on timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The swarm a test file uses: `join()` initialises one if the engine is in none; `leave()` undoes only that. */
export interface TestSwarm {
  /** Whether the engine was outside any swarm when the file started (read by `prepare()`). */
  readonly wasInactive: boolean;
  prepare(): Promise<void>;
  join(): Promise<void>;
  leave(): Promise<void>;
}

export function testSwarm(): TestSwarm {
  let wasInactive = false;
  let initialised = false;
  let gwbridgeExisted = true;
  return {
    get wasInactive() {
      return wasInactive;
    },
    async prepare() {
      wasInactive = (await docker.info()).Swarm?.LocalNodeState === 'inactive';
      gwbridgeExisted = (await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((network) => network.Name === 'docker_gwbridge');
    },
    async join() {
      if ((await docker.info()).Swarm?.LocalNodeState !== 'inactive') return;
      await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
      initialised = true;
    },
    async leave() {
      if (!initialised) return;
      await docker.swarmLeave({ force: true });
      initialised = false;
      // Swarm init made docker_gwbridge; leaving keeps it. Removed only if this test made it.
      if (!gwbridgeExisted) await docker.getNetwork('docker_gwbridge').remove().catch(() => undefined);
    },
  };
}

/** Removes everything a test project left (services first: their tasks hold the networks). */
export async function removeSwarmProject(project: string): Promise<void> {
  const byProject = { label: [`${LABEL.project}=${project}`] };
  const info = await docker.info();
  if (info.Swarm?.LocalNodeState === 'active') {
    for (const service of await docker.listServices({ filters: byProject })) await docker.getService(service.ID).remove().catch(() => undefined);
    await eventually(async () => ((await docker.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${project}`] } })).length === 0 ? true : undefined), 60_000, 'task containers to go').catch(() => undefined);
    for (const secret of await docker.listSecrets({ filters: byProject })) await docker.getSecret(secret.ID).remove().catch(() => undefined);
    for (const config of await docker.listConfigs({ filters: byProject })) await docker.getConfig(config.ID).remove().catch(() => undefined);
  }
  for (const network of await docker.listNetworks({ filters: byProject })) await docker.getNetwork(network.Id).remove().catch(() => undefined);
  for (const volume of (await docker.listVolumes({ filters: byProject })).Volumes ?? []) await docker.getVolume(volume.Name).remove().catch(() => undefined);
  for (const image of await docker.listImages({ filters: byProject })) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
}
