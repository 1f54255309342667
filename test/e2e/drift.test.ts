/**
 * `envctl drift` through the built CLI against the real engine: in sync after `up`, then each kind
 * of drift a user causes by hand (a container stopped, an image reference retagged, the definition
 * edited), with the documented exit codes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-drift-'));
  project = uniqueProject('drift');
});
afterEach(async () => {
  // The committed image carries the project label (removeProject removes it); the alias tag does not.
  await removeProject(project);
  await docker
    .getImage(`${project}/app:1`)
    .remove()
    .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** `app` runs an image reference of its own, so the test can retag it. */
const definition = (greeting: string) => `
name: ${project}
services:
  app:
    image: ${project}/app:1
    command: ["sleep", "infinity"]
    environment: { GREETING: ${greeting} }
  worker:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
`;

async function containerOf(service: string) {
  const [info] = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=${service}`] } });
  return docker.getContainer(info!.Id);
}

describe('envctl drift', () => {
  it('exits 0 in sync, then 1 naming a stopped container, a retagged image and a changed field', async () => {
    await docker.getImage(BASE_IMAGE).tag({ repo: `${project}/app`, tag: '1' });
    await writeFile(join(dir, 'envctl.yaml'), definition('hello'));
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);

    const inSync = await envctl(['drift'], { cwd: dir });
    expect(inSync.exitCode).toBe(0);
    expect(inSync.stdout).toBe(`drift for ${project} (env default)\n  in sync: app, worker\nsummary: in sync with the definition`);
    const inSyncJson = await envctl(['drift', '--json'], { cwd: dir });
    expect(inSyncJson.exitCode).toBe(0);
    expect(JSON.parse(String(inSyncJson.stdout))).toMatchObject({ project, env: 'default', drifted: false, items: [], inSync: ['app', 'worker'] });

    // Stopped by hand.
    await (await containerOf('worker')).stop({ t: 0 });
    const stopped = await envctl(['drift'], { cwd: dir });
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stdout).toContain('  state    worker  container is exited (stopped outside envctl)');
    expect(stopped.stdout).toContain('summary: 1 drifted, 1 in sync');

    // The reference `app` was created from now names another image.
    const app = await containerOf('app');
    const running = (await app.inspect()).Image;
    const committed = (await app.commit({ repo: `${project}/app`, tag: '1' })) as { Id: string };
    const retagged = await envctl(['drift', '--json'], { cwd: dir });
    expect(retagged.exitCode).toBe(1);
    expect(JSON.parse(String(retagged.stdout)).items).toContainEqual(
      expect.objectContaining({ kind: 'image', name: 'app', container: `${project}-app`, image: { ref: `${project}/app:1`, running, current: committed.Id } }),
    );

    // The definition changed since `up`.
    await writeFile(join(dir, 'envctl.yaml'), definition('bye'));
    const edited = await envctl(['drift'], { cwd: dir });
    expect(edited.exitCode).toBe(1);
    expect(edited.stdout).toContain('  changed  app     definition changed since the container was created: environment');
    expect(edited.stdout).toContain('  state    worker  container is exited');

    // `up` converges it again.
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);
    expect((await envctl(['drift'], { cwd: dir })).exitCode).toBe(0);
  });

  it('reports a service that was never started as missing (exit 1), and no engine as exit 3', async () => {
    await docker.getImage(BASE_IMAGE).tag({ repo: `${project}/app`, tag: '1' });
    await writeFile(join(dir, 'envctl.yaml'), definition('hello'));
    const fresh = await envctl(['drift'], { cwd: dir });
    expect(fresh.exitCode).toBe(1);
    expect(fresh.stdout).toMatch(/^ {2}missing {2}app +no container$/m);
    expect(fresh.stdout).toMatch(/^ {2}missing {2}worker +no container$/m);
    const noEngine = await envctl(['drift'], { cwd: dir, env: { DOCKER_HOST: `unix://${join(dir, 'none.sock')}` } });
    expect(noEngine.exitCode).toBe(3);
    expect(noEngine.stderr).toContain('no Docker engine');
  });
});
