/**
 * `envctl lock` and `--locked` through the built CLI against the real engine: the lock pins each
 * service's image ID (a built service and an `image:` one); `up --locked` passes, then refuses once
 * an image changes (naming the service, the expected and the found digest) and touches nothing;
 * without a lock file it is bad input; the pipeline records the lock it ran with.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, containerIdentities, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-lock-'));
  project = uniqueProject('lock');
});
afterEach(async () => {
  // Built images carry the project label (removeProject removes them); the retagged alias does not.
  await removeProject(project);
  await docker.getImage(`${project}/tool:1`).remove({ force: true }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const definition = () => `
name: ${project}
services:
  app:
    build: ./app
    command: ["sleep", "infinity"]
  tool:
    image: ${project}/tool:1
    command: ["sleep", "infinity"]
pipeline:
  build: { run: ["true"] }
`;

describe('envctl lock', () => {
  it('pins the image IDs; up --locked passes, then refuses after an image change; pipeline --locked records the lock', async () => {
    await mkdir(join(dir, 'app'));
    await writeFile(join(dir, 'app', 'Dockerfile'), `FROM ${BASE_IMAGE}\nLABEL purpose=envctl-lock-test\n`);
    await writeFile(join(dir, 'envctl.yaml'), definition());
    await docker.getImage(BASE_IMAGE).tag({ repo: `${project}/tool`, tag: '1' });
    const toolId = (await docker.getImage(`${project}/tool:1`).inspect()).Id;

    // Without a lock: bad input.
    const noLock = await envctl(['up', '--locked'], { cwd: dir });
    expect(noLock.exitCode).toBe(2);
    expect(noLock.stderr).toContain('--locked: there is no envctl.lock');
    expect(await containerIdentities(project)).toEqual(new Map());

    // lock builds what is missing and pins both images.
    const locked = await envctl(['lock', '--json'], { cwd: dir });
    expect(locked.exitCode).toBe(0);
    const file = JSON.parse(await readFile(join(dir, 'envctl.lock'), 'utf8'));
    const appImage = file.environments.default.services.app;
    expect(appImage).toMatchObject({ built: true, image: expect.stringMatching(new RegExp(`^${project}-app:`)), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(appImage.digest).toBe((await docker.getImage(appImage.image).inspect()).Id);
    expect(file.environments.default.services.tool).toEqual({ built: false, image: `${project}/tool:1`, digest: toolId });
    expect(JSON.parse(String(locked.stdout))).toMatchObject({ changed: true, built: [`app (${appImage.image})`] });
    // Stable: locking again writes the same bytes.
    const text = await readFile(join(dir, 'envctl.lock'), 'utf8');
    expect(JSON.parse(String((await envctl(['lock', '--json'], { cwd: dir })).stdout))).toMatchObject({ changed: false, built: [] });
    expect(await readFile(join(dir, 'envctl.lock'), 'utf8')).toBe(text);

    expect((await envctl(['up', '--locked'], { cwd: dir })).exitCode).toBe(0);
    const running = await containerIdentities(project);
    expect([...running.keys()].sort()).toEqual(['app', 'tool']);

    // The pipeline checks the lock and keeps it in its record.
    const pipeline = await envctl(['pipeline', '--locked', '--json'], { cwd: dir });
    expect(pipeline.exitCode).toBe(0);
    const record = JSON.parse(await readFile(JSON.parse(String(pipeline.stdout)).recordPath, 'utf8'));
    expect(record.lock).toMatchObject({ path: join(dir, 'envctl.lock'), env: 'default', services: { app: { image: appImage.image, digest: appImage.digest }, tool: { image: `${project}/tool:1`, digest: toolId } } });
    expect(record.lock.sha256).toMatch(/^[0-9a-f]{64}$/);

    // The image behind tool's tag changes: both refuse, naming the service and both digests, and nothing is touched.
    const changed = (await docker.getContainer((await docker.listContainers({ filters: { label: [`dev.envctl.project=${project}`, 'dev.envctl.service=tool'] } }))[0]!.Id).commit({ repo: `${project}/tool`, tag: '1' })) as { Id: string };
    const refused = await envctl(['up', '--locked'], { cwd: dir });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`tool: expected ${toolId} (${project}/tool:1), found ${changed.Id} (${project}/tool:1)`);
    expect(refused.stderr).not.toContain('app: expected');
    expect(await containerIdentities(project)).toEqual(running);
    const refusedPipeline = await envctl(['pipeline', '--locked'], { cwd: dir });
    expect(refusedPipeline.exitCode).toBe(1);
    expect(refusedPipeline.stderr).toContain(`tool: expected ${toolId}`);

    // The build inputs of app change: its new tag is not the locked one.
    await writeFile(join(dir, 'app', 'Dockerfile'), `FROM ${BASE_IMAGE}\nLABEL purpose=envctl-lock-test-2\n`);
    const rebuilt = await envctl(['up', '--locked', '--json'], { cwd: dir });
    expect(rebuilt.exitCode).toBe(1);
    expect(JSON.parse(String(rebuilt.stdout)).error).toMatchObject({ code: 'LOCK_MISMATCH', message: expect.stringContaining(`app: expected ${appImage.digest} (${appImage.image}), found ${project}-app:`) });

    // Without --locked, up runs what the definition says.
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);
  });
});
