/**
 * What the fault tests share: project names under this run's prefix, the built CLI with a private
 * state folder (locks), label-based inspection and cleanup, and a leak listing by prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN } from '../support/cli.js';
import { docker, removeProject } from '../support/docker.js';
import type { Relay } from './relay.js';

export { BASE_IMAGE, docker, removeProject } from '../support/docker.js';

/** `envctl-fault-<run>-<what>-<random>`: unique, and found by this run's leak check only. */
export function faultProject(what: string): string {
  return `envctl-fault-${inject('faultsRun')}-${what}-${randomBytes(2).toString('hex')}`;
}

export async function tempDir(what: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `envctl-fault-${what}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A file's shared scaffolding for runs through a relay (filled in by the hooks it registers). */
export interface RelayScaffold {
  /** A temporary folder for the file, removed after its last test. */
  readonly dir: string;
  /** Projects to remove after the file's last test. */
  readonly projects: string[];
  /** The test's relay, if it started one: closed after each test. */
  relay: Relay | undefined;
}

/** Registers the hooks: the temporary folder before all, the relay closed after each, projects and folder removed after all. */
export function relayScaffold(what: string): RelayScaffold {
  let remove: (() => Promise<void>) | undefined;
  const scaffold = { dir: '', projects: [] as string[], relay: undefined as Relay | undefined };
  beforeAll(async () => {
    ({ dir: scaffold.dir, remove } = await tempDir(what));
  });
  afterEach(async () => {
    await scaffold.relay?.close();
    scaffold.relay = undefined;
  });
  afterAll(async () => {
    for (const project of scaffold.projects) await removeProject(project);
    await remove?.();
  });
  return scaffold;
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
