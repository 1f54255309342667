/**
 * up / status / logs / exec / down through the built CLI, as a user (or CI) runs them: exit codes,
 * stdout vs stderr, and Ctrl-C in the middle of `up`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN, envctl } from '../support/cli.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-up-'));
  project = uniqueProject('cli-up');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

const definition = () => `
name: ${project}
services:
  db:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "echo db ready; exec sleep infinity"]
    healthcheck: { test: ["CMD", "true"], interval: 500ms }
  app:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "echo app says hello; echo app warns >&2; exec sleep infinity"]
    environment: { GREETING: hello }
    depends_on: { db: { condition: service_healthy } }
`;

describe('envctl up / status / logs / exec / down', () => {
  it('runs the whole cycle with the documented exit codes and output streams', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition());

    const up = await envctl(['up'], { cwd: dir });
    expect(up.exitCode).toBe(0);
    expect(up.stderr).toContain('db  healthy');
    expect(up.stderr).toContain('app  running');
    expect(up.stderr).toMatch(/done: .*2 services ready/);

    const again = await envctl(['up', '--json'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(String(again.stdout))).toMatchObject({ ok: true, changed: false, services: [{ service: 'db', action: 'keep' }, { service: 'app', action: 'keep' }] });

    const status = await envctl(['status', '--json'], { cwd: dir });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(String(status.stdout)).services).toEqual([
      expect.objectContaining({ service: 'db', state: 'running', health: 'healthy', container: `${project}-db` }),
      expect.objectContaining({ service: 'app', state: 'running', container: `${project}-app` }),
    ]);
    const statusText = await envctl(['status'], { cwd: dir });
    expect(String(statusText.stdout).split('\n')[0]).toMatch(/^SERVICE\s+STATE\s+HEALTH\s+UPTIME\s+PORTS\s+IMAGE$/);

    const logs = await envctl(['logs'], { cwd: dir });
    expect(logs.exitCode).toBe(0);
    expect(String(logs.stdout).split('\n')).toEqual(expect.arrayContaining(['db  | db ready', 'app | app says hello', 'app | app warns']));
    const appOnly = await envctl(['logs', 'app', '--tail', '1'], { cwd: dir });
    expect(String(appOnly.stdout).split('\n').filter(Boolean)).toHaveLength(1);

    const exec = await envctl(['exec', 'app', '--', 'sh', '-c', 'echo "$GREETING from exec"; exit 7'], { cwd: dir });
    expect(exec.exitCode).toBe(7);
    expect(exec.stdout).toBe('hello from exec');

    const down = await envctl(['down'], { cwd: dir });
    expect(down.exitCode).toBe(0);
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } })).toEqual([]);
  });

  it('exits 1 with the failing service, its state and log tail when a dependency never gets healthy', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition().replace('test: ["CMD", "true"], interval: 500ms', 'test: ["CMD", "false"], interval: 500ms, retries: 2'));
    const up = await envctl(['up'], { cwd: dir });
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain('service db failed: unhealthy');
    expect(up.stderr).toContain('db ready');
    expect(up.stderr).toContain('not started: app');
  });

  it('stops on Ctrl-C with exit 130, leaving only labelled containers that down removes', async () => {
    await writeFile(
      join(dir, 'envctl.yaml'),
      definition().replace('test: ["CMD", "true"], interval: 500ms', 'test: ["CMD", "sh", "-c", "test -f /tmp/ready"], interval: 500ms, retries: 100'),
    );
    const child = spawn(process.execPath, [BIN, 'up'], { cwd: dir, detached: true, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until the db is being followed for health, then interrupt the whole process group.
    for (let attempt = 0; attempt < 200 && !stderr.includes('db  waiting for health'); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stderr).toContain('db  waiting for health');
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('cancelled');
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } });
    expect(left.map((container) => container.Labels[LABEL.service])).toEqual(['db']);
    const down = await envctl(['down'], { cwd: dir });
    expect(down.exitCode).toBe(0);
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } })).toEqual([]);
  });

  it('refuses up with no engine (exit 3) and with an unknown service for exec (exit 2)', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition());
    const noEngine = await envctl(['up'], { cwd: dir, env: { DOCKER_HOST: `unix://${join(dir, 'none.sock')}` } });
    expect(noEngine.exitCode).toBe(3);
    expect(noEngine.stderr).toContain('no Docker engine');
    const unknown = await envctl(['exec', 'nope', '--', 'true'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no service "nope"');
  });
});
