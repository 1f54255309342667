/**
 * The built CLI as a user runs it: validate and plan, their exit codes, where output goes, and
 * that invalid input never reaches the Docker engine.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-'));
  project = uniqueProject('cli');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

/** A unix socket that records every connection: proof that a command made no Docker call. */
async function recordingSocket(): Promise<{ path: string; connections: () => number; close: () => Promise<void> }> {
  const path = join(dir, 'docker.sock');
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, connections: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const VALID = () => `
name: ${project}
services:
  web:
    image: ${BASE_IMAGE}
    ports: ["8080:3000"]
    depends_on: { db: { condition: service_healthy } }
  db:
    image: ${BASE_IMAGE}
    healthcheck: { test: ["CMD", "true"], interval: 1s }
environments:
  ci: { services: { web: { ports: ["9080:3000"] } } }
`;

describe('envctl validate', () => {
  it('accepts a valid definition and names every environment it checked', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const result = await envctl(['validate'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`valid: ${project}: default (2 services), ci (2 services)`);
  });

  it('prints a JSON result with --json', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const result = await envctl(['validate', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(String(result.stdout))).toMatchObject({ valid: true, project, environments: [{ env: 'default' }, { env: 'ci' }] });
  });

  it('reports a typo with file:line:col, the source line and a hint, exits 2, and never contacts Docker', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID().replace('    healthcheck:', '    healtcheck:'));
    const socket = await recordingSocket();
    try {
      for (const command of [['validate'], ['plan']]) {
        const result = await envctl(command, { cwd: dir, env: { DOCKER_HOST: `unix://${socket.path}` } });
        expect(result.exitCode).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain('envctl.yaml:10:5 error: unknown key `healtcheck`');
        expect(result.stderr).toContain('  10 |     healtcheck: { test: ["CMD", "true"], interval: 1s }');
        expect(result.stderr).toContain('hint: did you mean `healthcheck`?');
      }
      expect(socket.connections()).toBe(0);
    } finally {
      await socket.close();
    }
  });

  it('reports errors as JSON with --json, with the same exit code', async () => {
    await writeFile(join(dir, 'envctl.yaml'), 'services:\n  a: { image: x, depends_on: [b] }\n  b: { image: x, depends_on: [a] }\n');
    const result = await envctl(['validate', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(2);
    const { error } = JSON.parse(String(result.stdout));
    expect(error).toMatchObject({ code: 'DEPENDENCY_CYCLE', exitCode: 2, diagnostics: [expect.objectContaining({ file: 'envctl.yaml', line: 2, message: 'dependency cycle: a -> b -> a' })] });
  });

  it('says where it looked when there is no definition, exit 2', async () => {
    const result = await envctl(['validate'], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('no definition found');
    expect(result.stderr).toContain('hint: pass --file PATH');
  });

  it('rejects an unknown flag with exit 2', async () => {
    const result = await envctl(['validate', '--no-such-flag'], { cwd: dir });
    expect(result.exitCode).toBe(2);
  });
});

describe('envctl plan', () => {
  it('plans against the engine and prints the actions on stdout', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const result = await envctl(['plan'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    // Columns are padded to the longest name; compare with runs of spaces folded.
    expect(String(result.stdout).split('\n').map((line) => line.replace(/ +/g, ' '))).toEqual([
      `plan for ${project} (env default)`,
      ` create network ${project}_default new network`,
      ' create db new service',
      ' create web new service',
      'summary: 2 to create',
    ]);
  });

  it('plans for a named environment with --env and emits JSON with --json', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const result = await envctl(['plan', '--env', 'ci', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(String(result.stdout));
    expect(plan).toMatchObject({ project, env: 'ci', offline: false, summary: { create: 2 } });
    expect(plan.actions.map((action: { kind: string; name: string }) => `${action.kind} ${action.name}`)).toEqual([
      `create ${project}-ci_default`,
      'create db',
      'create web',
    ]);
  });

  it('exits 3 with what to do when there is no engine, and --offline plans without one', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const env = { DOCKER_HOST: `unix://${join(dir, 'missing.sock')}` };
    const failed = await envctl(['plan'], { cwd: dir, env });
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain(`no Docker engine at unix://${join(dir, 'missing.sock')}`);
    expect(failed.stderr).toContain('hint:');
    expect(failed.stderr).not.toContain('    at ');
    const offline = await envctl(['plan', '--offline'], { cwd: dir, env });
    expect(offline.exitCode).toBe(0);
    expect(offline.stdout).toContain('summary: 2 to create');
  });

  it('refuses a plain tcp DOCKER_HOST (no TLS) with exit 3', async () => {
    await writeFile(join(dir, 'envctl.yaml'), VALID());
    const result = await envctl(['plan'], { cwd: dir, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' } });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('without TLS');
  });
});

describe('envctl schema', () => {
  it('prints the same JSON Schema as the committed copy', async () => {
    const result = await envctl(['schema']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(String(result.stdout))).toEqual(JSON.parse(await readFile(new URL('../../schema/envctl.schema.json', import.meta.url), 'utf8')));
  });
});
