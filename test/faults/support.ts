/**
 * What the fault tests share: project names under this run's prefix, the built CLI with a private
 * state folder (locks), label-based inspection and cleanup, and a leak listing by prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { inject } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN } from '../support/cli.js';
import { docker } from '../support/docker.js';

export { BASE_IMAGE, docker, removeProject } from '../support/docker.js';

/** `envctl-fault-<run>-<what>-<random>`: unique, and found by this run's leak check only. */
export function faultProject(what: string): string {
  return `envctl-fault-${inject('faultsRun')}-${what}-${randomBytes(2).toString('hex')}`;
}

export async function tempDir(what: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `envctl-fault-${what}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The built CLI as a user runs it; `ENVCTL_STATE_HOME` inside `dir` keeps its locks private. */
export function envctlIn(dir: string, args: readonly string[], env: Record<string, string | undefined> = {}, timeout = 120_000): Promise<Result> {
  return execa(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { CI: 'true', NO_COLOR: '1', ENVCTL_STATE_HOME: join(dir, '.state'), ...env },
    reject: false,
    stdin: 'ignore',
    timeout,
  });
}

export interface Seen {
  name: string;
  service: string;
  state: string;
  configHash: string;
  labels: Record<string, string>;
}

/** The project's containers as the engine lists them. */
export async function containersOf(project: string, extra: string[] = []): Promise<Seen[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`, ...extra] } });
  return list
    .map((container) => ({
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      service: container.Labels[LABEL.service] ?? '',
      state: container.State,
      configHash: container.Labels[LABEL.configHash] ?? '',
      labels: container.Labels,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every labelled container, network, volume and image whose project starts with `prefix`. */
export async function leftoversOf(prefix: string): Promise<string[]> {
  const mine = (labels: Record<string, string> | null | undefined) => labels?.[LABEL.project]?.startsWith(prefix) ?? false;
  const filters = { label: [LABEL.project] };
  const containers = (await docker.listContainers({ all: true, filters })).filter((c) => mine(c.Labels)).map((c) => `container ${c.Names[0]}`);
  const networks = (await docker.listNetworks({ filters })).filter((n) => mine(n.Labels)).map((n) => `network ${n.Name}`);
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).filter((v) => mine(v.Labels)).map((v) => `volume ${v.Name}`);
  const images = (await docker.listImages({ filters })).filter((i) => mine(i.Labels)).map((i) => `image ${i.RepoTags?.[0] ?? i.Id}`);
  return [...containers, ...networks, ...volumes, ...images];
}

/** Everything labelled with exactly this project (containers, networks, volumes). */
export async function labelledOf(project: string): Promise<string[]> {
  return (await leftoversOf(project)).filter((entry) => !entry.startsWith('image '));
}
