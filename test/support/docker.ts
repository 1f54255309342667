/**
 * Test helpers for the real Docker engine: a client, a unique label per test run, and cleanup by
 * label so a failing test leaks nothing.
 */
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { LABEL } from '../../src/labels.js';

export const docker = new Docker({ socketPath: process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock' });

/**
 * Every test project name starts with this, so the final leak check finds anything left behind:
 * `envctl-test-<run>-`, where `<run>` is random per test run (set by test/support/global-setup.ts
 * before the test workers start, which inherit it), so the check counts only this run's objects,
 * never those of other people's test runs on the same engine.
 */
export const TEST_PROJECT_PREFIX = `envctl-test-${process.env.ENVCTL_TEST_RUN ?? randomBytes(3).toString('hex')}-`;

export function uniqueProject(what: string): string {
  return `${TEST_PROJECT_PREFIX}${what}-${randomBytes(3).toString('hex')}`;
}

/** The smallest locally built image (setup builds it from Debian packages; no registry needed). */
export const BASE_IMAGE = 'envctl/base-debian:12';

export async function removeProject(project: string): Promise<void> {
  const filters = { label: [`${LABEL.project}=${project}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((container) => docker.getContainer(container.Id).remove({ force: true, v: true })));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((network) => docker.getNetwork(network.Id).remove()));
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  await Promise.all(volumes.map((volume) => docker.getVolume(volume.Name).remove()));
  const images = await docker.listImages({ filters });
  for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
}

/** Every container, network and volume carrying all the labels, as sorted `kind name` strings. */
export async function objectsWith(labels: Record<string, string>): Promise<string[]> {
  const filters = { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return [...containers.map((c) => `container ${c.Names[0]}`), ...networks.map((n) => `network ${n.Name}`), ...volumes.map((v) => `volume ${v.Name}`)].sort();
}

/** Everything labelled by a test project of this run (`prefix`) that still exists (the leak check). */
export async function leftovers(prefix: string = TEST_PROJECT_PREFIX): Promise<string[]> {
  const isTest = (labels: Record<string, string> | undefined) => labels?.[LABEL.project]?.startsWith(prefix) ?? false;
  const containers = (await docker.listContainers({ all: true, filters: { label: [LABEL.project] } })).filter((c) => isTest(c.Labels)).map((c) => `container ${c.Names[0]}`);
  const networks = (await docker.listNetworks({ filters: { label: [LABEL.project] } })).filter((n) => isTest(n.Labels)).map((n) => `network ${n.Name}`);
  const volumes = ((await docker.listVolumes({ filters: { label: [LABEL.project] } })).Volumes ?? []).filter((v) => isTest(v.Labels)).map((v) => `volume ${v.Name}`);
  const images = (await docker.listImages({ filters: { label: [LABEL.project] } })).filter((i) => isTest(i.Labels)).map((i) => `image ${i.RepoTags?.[0] ?? i.Id}`);
  return [...containers, ...networks, ...volumes, ...images];
}

/** Each service's container id and start time: equal maps mean nothing was recreated or restarted. */
export async function containerIdentities(project: string): Promise<Map<string, { id: string; startedAt: string }>> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } });
  const out = new Map<string, { id: string; startedAt: string }>();
  for (const container of list) {
    const info = await docker.getContainer(container.Id).inspect();
    out.set(container.Labels[LABEL.service]!, { id: container.Id, startedAt: info.State.StartedAt });
  }
  return out;
}
