/**
 * Fault 21 and guarantee 7 / fault 22 (reliability.md): Ctrl-C during an image build cancels the
 * build and exits 130 with nothing created; a second Ctrl-C while an engine call hangs exits 130 at
 * once (the first only stops scheduling and waits for running calls), and the next `up` converges.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { startRelay } from './relay.js';
import { BASE_IMAGE, containersOf, docker, envctlIn, faultProject, labelledOf, relayScaffold } from './support.js';

const fx = relayScaffold('signals');

/** `envctl up` in its own process group, as a terminal runs it; Ctrl-C goes to the whole group. */
function spawnUp(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'up', '--wait-timeout', '60s'], {
    cwd: fx.dir,
    detached: true,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ENVCTL_STATE_HOME: join(fx.dir, '.state'), ...env },
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
    fx.projects.push(project);
    await mkdir(join(fx.dir, 'slow'), { recursive: true });
    await writeFile(join(fx.dir, 'slow', 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN echo build-started && sleep 60\n`);
    await writeFile(join(fx.dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app: { build: ./slow, command: ["sleep", "infinity"] }\n`);
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
    fx.projects.push(project);
    await writeFile(join(fx.dir, 'envctl.yaml'), `name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n`);
    fx.relay = await startRelay(fx.dir, { mode: 'hang', after: /^POST \S*\/containers\/\S+\/start/, count: 1 });
    const up = spawnUp({ DOCKER_HOST: fx.relay.dockerHost });
    await up.until(() => fx.relay!.fired(), 'the container start to hang');
    up.interrupt();
    await up.until(() => up.stderr().includes('letting running operations finish'), 'the first Ctrl-C to be taken');
    up.interrupt();
    expect(await up.exited).toBe(130);
    expect(up.stderr()).toContain('SIGINT again: stopping now');
    await fx.relay.close();
    fx.relay = undefined;
    const again = await envctlIn(fx.dir, ['up', '--wait-timeout', '60s']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((await containersOf(project)).map((container) => [container.name, container.state])).toEqual([[`${project}-a`, 'running']]);
    expect((await envctlIn(fx.dir, ['down'])).exitCode).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
