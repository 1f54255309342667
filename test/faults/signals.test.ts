/**
 * Fault 21 and guarantee 7 / fault 22 (reliability.md): Ctrl-C during an image build cancels the
 * build and exits 130 with nothing created; a second Ctrl-C while an engine call hangs exits 130 at
 * once (the first only stops scheduling and waits for running calls), and the next `up` converges.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { startRelay, type Relay } from './relay.js';
import { BASE_IMAGE, containersOf, docker, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
let relay: Relay | undefined;
const projects: string[] = [];

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('signals'));
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});
afterAll(async () => {
  for (const project of projects) await removeProject(project);
  await cleanup();
});

/** `envctl up` in its own process group, as a terminal runs it; Ctrl-C goes to the whole group. */
function spawnUp(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'up', '--wait-timeout', '60s'], {
    cwd: dir,
    detached: true,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ENVCTL_STATE_HOME: join(dir, '.state'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (check: () => boolean, what: string) => {
    for (let attempt = 0; attempt < 600 && !check(); attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    if (!check()) throw new Error(`timed out waiting for ${what}; stderr:\n${stderr}`);
  };
  return { interrupt: () => process.kill(-child.pid!, 'SIGINT'), exited, stderr: () => stderr, until };
}

describe('Ctrl-C', () => {
  it('during an image build cancels the build: exit 130, no container, no image', async () => {
    const project = faultProject('sigbuild');
    projects.push(project);
    await mkdir(join(dir, 'slow'), { recursive: true });
    await writeFile(join(dir, 'slow', 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN echo build-started && sleep 60\n`);
    await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app: { build: ./slow, command: ["sleep", "infinity"] }\n`);
    const up = spawnUp();
    await up.until(() => up.stderr().includes('build-started'), 'the build to run');
    up.interrupt();
    expect(await up.exited).toBe(130);
    expect(up.stderr()).toContain('cancelled');
    expect(await containersOf(project)).toEqual([]);
    expect(await labelledOf(project)).toEqual([]);
    expect((await docker.listImages({ filters: { label: [`dev.envctl.project=${project}`] } })).length).toBe(0);
  });

  it('pressed twice while an engine call hangs: the second exits 130 at once; the next up converges', async () => {
    const project = faultProject('sigtwice');
    projects.push(project);
    await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n`);
    relay = await startRelay(dir, { mode: 'hang', after: /^POST \S*\/containers\/\S+\/start/, count: 1 });
    const up = spawnUp({ DOCKER_HOST: relay.dockerHost });
    await up.until(() => relay!.fired(), 'the container start to hang');
    up.interrupt();
    await up.until(() => up.stderr().includes('letting running operations finish'), 'the first Ctrl-C to be taken');
    up.interrupt();
    expect(await up.exited).toBe(130);
    expect(up.stderr()).toContain('SIGINT again: stopping now');
    await relay.close();
    relay = undefined;
    const again = await envctlIn(dir, ['up', '--wait-timeout', '60s']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((await containersOf(project)).map((container) => [container.name, container.state])).toEqual([[`${project}-a`, 'running']]);
    expect((await envctlIn(dir, ['down'])).exitCode).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
