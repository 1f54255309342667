/**
 * `envctl doctor` and shell completion through the built CLI, against the real engine on this
 * machine: exit codes, the JSON list, the engine check and its fix when DOCKER_HOST points nowhere
 * or at an engine that never answers, and host ports taken by others vs held by the environment.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DoctorCheck } from '../../src/doctor/checks.js';
import { LABEL } from '../../src/labels.js';
import { envctl as runCli } from '../support/cli.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-doctor-'));
  project = uniqueProject('doctor');
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

/** A listener this test holds; `path` is a unix socket path or a loopback TCP port. */
async function listen(where: string | number): Promise<Server> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    // Accept and never answer, like a hung engine.
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  const close = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    for (const socket of open) socket.destroy();
    return close(callback);
  }) as typeof server.close;
  await new Promise<void>((resolve) => (typeof where === 'string' ? server.listen(where, resolve) : server.listen(where, '127.0.0.1', resolve)));
  servers.push(server);
  return server;
}

/** The built CLI, its output as text. */
async function envctl(...args: Parameters<typeof runCli>): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const result = await runCli(...args);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function port(server: Server): number {
  return (server.address() as { port: number }).port;
}

function parseChecks(stdout: string): Record<string, DoctorCheck> {
  const checks = JSON.parse(stdout) as DoctorCheck[];
  expect(Array.isArray(checks)).toBe(true);
  return Object.fromEntries(checks.map((check) => [check.id, check]));
}

describe('envctl doctor', () => {
  it('exits 0 on this machine and reports the engine, its version and the four base images', async () => {
    const result = await envctl(['doctor', '--json'], { cwd: dir, env: { DOCKER_HOST: undefined } });
    expect(result.exitCode).toBe(0);
    const checks = parseChecks(result.stdout);
    expect(checks.engine!.status).toBe('ok');
    expect(checks.engine!.detail).toMatch(/^Docker Engine \d+\.\d+\S* \(API [\d.]+, linux\/\w+\) at unix:\/\//);
    expect(['ok', 'warn']).toContain(checks['engine-version']!.status);
    expect(checks['base-images']).toMatchObject({ status: 'ok', detail: 'envctl/base-debian:12, envctl/base-node:24, envctl/base-postgres:15, envctl/base-redis:7' });
    expect(checks['proxy-bundle']!.status).toBe('ok');
    expect(checks.node!.detail).toContain(process.version);
    expect(checks['disk-docker']!.detail).toMatch(/free at \//);
    expect(checks.definition!.status).toBe('info');
    expect(Object.values(checks).filter((check) => check.status === 'fail')).toEqual([]);
  });

  it('prints one line per check as plain text', async () => {
    const result = await envctl(['doctor'], { cwd: dir, env: { DOCKER_HOST: undefined } });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => !line.startsWith('  fix: '));
    expect(lines.map((line) => line.slice(0, 2))).toEqual(['✔ ', '✔ ', expect.stringMatching(/^[✔⚠] $/), '✔ ', '✔ ', '✔ ', '✔ ', '• ', '– ', expect.stringMatching(/^[✔•] $/)]);
    expect(result.stdout).toContain('✔ base images: envctl/base-debian:12');
    expect(result.stdout).not.toMatch(/\u001b/);
  });

  it('with DOCKER_HOST at a missing socket: exits 1, naming the engine check and the fix, without a stack trace', async () => {
    const env = { DOCKER_HOST: 'unix:///nonexistent.sock' };
    const text = await envctl(['doctor'], { cwd: dir, env });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('✖ engine: no Docker engine at unix:///nonexistent.sock (the socket does not exist)\n  fix: start one: `npm run setup` installs and starts the engine');
    expect(text.stdout).toContain('– base images: needs a reachable engine');
    expect(`${text.stdout}${text.stderr}`).not.toMatch(/\n\s+at /);

    const json = await envctl(['doctor', '--json'], { cwd: dir, env });
    expect(json.exitCode).toBe(1);
    const checks = parseChecks(json.stdout);
    expect(checks.engine).toMatchObject({ status: 'fail', detail: expect.stringContaining('unix:///nonexistent.sock') });
    expect(checks.engine!.fix).toContain('npm run setup');
  });

  // Without the ping timeout the CLI hangs: the test's own timeout is the ceiling.
  it('an engine that accepts but never answers fails within the ping timeout and the CLI exits', { timeout: 45_000 }, async () => {
    const socket = join(dir, 'hung.sock');
    await listen(socket);
    const result = await envctl(['doctor', '--json'], { cwd: dir, env: { DOCKER_HOST: `unix://${socket}` } });
    expect(result.exitCode).toBe(1);
    expect(parseChecks(result.stdout).engine).toMatchObject({ status: 'fail', detail: expect.stringContaining('did not answer') });
  });

  it("fails the ports check for a host port another process holds, not for one the environment's own container holds", async () => {
    const taken = await listen(0);
    const container = await docker.createContainer({
      Image: BASE_IMAGE,
      Cmd: ['sleep', 'infinity'],
      Labels: { [LABEL.project]: project, [LABEL.env]: 'default', [LABEL.service]: 'web' },
      ExposedPorts: { '3000/tcp': {} },
      HostConfig: { PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    await container.start();
    const own = Number((await container.inspect()).NetworkSettings.Ports['3000/tcp']![0]!.HostPort);
    await writeFile(
      join(dir, 'envctl.yaml'),
      `name: ${project}
services:
  web: { image: ${BASE_IMAGE}, ports: ["127.0.0.1:${own}:3000"] }
  api: { image: ${BASE_IMAGE}, ports: ["127.0.0.1:${port(taken)}:3000"] }
`,
    );
    const result = await envctl(['doctor', '--json'], { cwd: dir, env: { DOCKER_HOST: undefined } });
    expect(result.exitCode).toBe(1);
    const checks = parseChecks(result.stdout);
    expect(checks.definition).toMatchObject({ status: 'ok', detail: expect.stringContaining(`project ${project}, env default, 2 services`) });
    expect(checks.ports).toMatchObject({ status: 'fail', detail: `not available: 127.0.0.1:${port(taken)}/tcp (api): already in use` });
    expect(checks.ports!.fix).toContain('ss -ltnp');
  });

  it('summarises an invalid definition and exits 1', async () => {
    await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  web: { image: ${BASE_IMAGE}, ports: ["nonsense"] }\n`);
    const result = await envctl(['doctor'], { cwd: dir, env: { DOCKER_HOST: undefined } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/✖ definition: 1 error in envctl\.yaml; first: envctl\.yaml:3:\d+ /);
    expect(result.stdout).toContain('– ports: needs a definition that loads');
  });
});

describe('envctl autocomplete', () => {
  it('prints the bash setup and writes completions that know envctl and its commands', async () => {
    const env = { ENVCTL_CACHE_DIR: join(dir, 'cache') };
    const help = await envctl(['autocomplete', '--help'], { cwd: dir, env });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('$ envctl autocomplete bash');

    const setup = await envctl(['autocomplete', 'bash'], { cwd: dir, env });
    expect(setup.exitCode).toBe(0);
    expect(setup.stdout).toContain('envctl autocomplete script bash');

    const script = await envctl(['autocomplete', 'script', 'bash'], { cwd: dir, env });
    expect(script.exitCode).toBe(0);
    expect(script.stdout).toContain(`ENVCTL_AC_BASH_SETUP_PATH=${join(dir, 'cache', 'autocomplete', 'bash_setup')}`);
    const functions = await readFile(join(dir, 'cache', 'autocomplete', 'functions', 'bash', 'envctl.bash'), 'utf8');
    expect(functions).toContain('complete -F _envctl_autocomplete envctl');
    expect(functions).toMatch(/^doctor --json/m);
    expect(functions).toMatch(/^release:start /m);
  });
});
