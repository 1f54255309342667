/**
 * `envctl init` as a user runs it (the built CLI): the sample project it writes validates, comes up
 * and passes the pipeline up to integration on the real engine, and `down --volumes` leaves nothing
 * with its project label; `--from-compose` with a good and a bad Compose file; the refusal to
 * overwrite; the questions on a real terminal (tmux).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN, envctl } from '../support/cli.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

const project = uniqueProject('init');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-init-e2e-'));
});
afterAll(async () => {
  // down removes containers, networks and volumes; the images the build made go here.
  for (const name of await projectsLike(project)) await removeProject(name);
  await removeProject(project);
  await rm(root, { recursive: true, force: true });
});

/** Every project label on the engine that is this project or one of its pipeline environments. */
async function projectsLike(name: string): Promise<string[]> {
  const filters = { label: [LABEL.project] };
  const labels = [
    ...(await docker.listContainers({ all: true, filters })).map((container) => container.Labels),
    ...(await docker.listNetworks({ filters })).map((network) => network.Labels ?? {}),
    ...((await docker.listVolumes({ filters })).Volumes ?? []).map((volume) => volume.Labels ?? {}),
  ].map((labels) => labels[LABEL.project]!);
  return [...new Set(labels.filter((label) => label === name || label.startsWith(`${name}-`)))];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A tmux server of its own with one session `name`, its screen, and polling on it. */
function terminal(name: string) {
  const server = `envctl-${project}-${name}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  const screen = (): string => tmux('capture-pane', '-p', '-t', name);
  const until = async (check: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { tmux, screen, until, server };
}

describe('envctl init (built CLI)', () => {
  it('scaffolds a project that validates, comes up, passes the pipeline to integration, and goes down without a trace', async () => {
    const init = await envctl(['init', 'shop', '--name', project, '--ci', 'gitlab', '--json'], { cwd: root });
    expect(init.exitCode, String(init.stderr)).toBe(0);
    const result = JSON.parse(String(init.stdout)) as { project: string; files: Array<{ path: string; action: string }> };
    expect(result.project).toBe(project);
    expect(result.files.map((file) => file.path)).toEqual(expect.arrayContaining(['envctl.yaml', '.gitlab-ci.yml', 'services/web/Dockerfile', 'services/web/server.js']));
    expect(result.files.every((file) => file.action === 'created')).toBe(true);

    const dir = join(root, 'shop');
    const env = { WEB_PORT: String(await freePort()) };
    const validate = await envctl(['validate'], { cwd: dir, env });
    expect(validate.exitCode, String(validate.stderr)).toBe(0);
    expect(validate.stdout).toContain(`valid: ${project}: default (2 services), local (2 services), ci (2 services)`);

    const up = await envctl(['up'], { cwd: dir, env });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const first = (await (await fetch(`http://127.0.0.1:${env.WEB_PORT}/api/hits`)).json()) as { hits: number };
    const second = (await (await fetch(`http://127.0.0.1:${env.WEB_PORT}/api/hits`)).json()) as { hits: number };
    expect(second.hits).toBe(first.hits + 1);

    const pipeline = await envctl(['pipeline', '--to', 'integration', '--json'], { cwd: dir, env });
    const run = JSON.parse(String(pipeline.stdout)) as { status: string; record: { stages: Array<{ name: string; status: string }> } };
    expect(pipeline.exitCode, String(pipeline.stderr)).toBe(0);
    expect(run.record.stages.map((stage) => [stage.name, stage.status])).toEqual([
      ['build', 'passed'],
      ['integration', 'passed'],
    ]);

    const down = await envctl(['down', '--volumes'], { cwd: dir, env });
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await projectsLike(project)).toEqual([]);
  });

  it('refuses to overwrite without --force: exit 2, the files listed, nothing changed', async () => {
    const dir = join(root, 'again');
    await mkdir(dir);
    await writeFile(join(dir, 'envctl.yaml'), 'mine\n');
    const refused = await envctl(['init', '--ci', 'none'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('1 file already exists');
    expect(refused.stderr).toContain('envctl.yaml; nothing was written');
    expect(refused.stderr).toContain('--force');
    expect(await readFile(join(dir, 'envctl.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(dir, 'services'))).toBe(false);

    const forced = await envctl(['init', '--ci', 'none', '--force'], { cwd: dir });
    expect(forced.exitCode, String(forced.stderr)).toBe(0);
    expect(forced.stdout).toContain('replaced envctl.yaml');
    expect(forced.stdout).toContain('created services/web/server.js');
  });

  it('--from-compose: adds the pipeline to a Compose file that validates; a bad one exits 2 with file:line', async () => {
    const dir = join(root, 'compose');
    await mkdir(dir);
    await writeFile(
      join(dir, 'docker-compose.yml'),
      'services:\n  api:\n    image: envctl/base-node:24\n    ports: ["127.0.0.1:8000:8000"]\n  db:\n    image: envctl/base-postgres:15\n    volumes: ["dbdata:/var/lib/postgresql/data"]\nvolumes:\n  dbdata: {}\n',
    );
    const init = await envctl(['init', '--from-compose', 'docker-compose.yml', '--ci', 'github', '--name', 'legacy'], { cwd: dir });
    expect(init.exitCode, String(init.stderr)).toBe(0);
    expect(String(init.stdout).split('\n').filter(Boolean)).toEqual(['created envctl.yaml', 'created envctl/smoke.test.mjs', 'created .github/workflows/envctl.yml']);
    expect(init.stderr).toContain('from docker-compose.yml (HTTP: api)');
    const validate = await envctl(['validate', '--json'], { cwd: dir });
    expect(validate.exitCode, String(validate.stderr)).toBe(0);
    expect(JSON.parse(String(validate.stdout))).toMatchObject({ file: join(dir, 'envctl.yaml'), project: 'legacy', environments: [{ env: 'default', services: ['api', 'db'] }] });
    expect(await readFile(join(dir, 'envctl.yaml'), 'utf8')).toContain('release:\n    service: api');

    const bad = join(root, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'compose.yaml'), 'services:\n  api:\n    image: envctl/base-node:24\n    ports: ["abc"]\n');
    const refused = await envctl(['init', '--from-compose', 'compose.yaml'], { cwd: bad });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^compose\.yaml:4:\d+ error: /m);
    expect(existsSync(join(bad, 'envctl.yaml'))).toBe(false);
  });

  it.skipIf(!hasTmux)('asks what the flags leave open on a terminal (tmux): Compose file or sample, name, CI', async () => {
    const dir = join(root, 'tty');
    await mkdir(dir);
    await writeFile(join(dir, 'compose.yaml'), 'name: tabby\nservices:\n  web:\n    image: envctl/base-node:24\n    ports: ["127.0.0.1:8080:3000"]\n');
    const { tmux, screen, until, server } = terminal('i');
    const exitFile = join(root, 'tty-exit');
    // A real terminal: CI must not be set there, or init takes the defaults without asking.
    const command = `cd '${dir}' && env -u CI '${process.execPath}' '${BIN}' init; echo "EXIT=$?" > '${exitFile}'; sleep 60`;
    try {
      tmux('new-session', '-d', '-s', 'i', '-x', '120', '-y', '30', command);
      await until(() => screen().includes('? Start from'), 'the source question');
      expect(screen()).toContain('compose.yaml (found here)');
      tmux('send-keys', '-t', 'i', 'Enter');
      await until(() => screen().includes('? Project name'), 'the name question');
      expect(screen()).toContain('✔ Start from: compose.yaml (found here)');
      // The Compose file's project name is the default: keep its first letter, type the rest. Enter
      // goes on its own, as a person types it (in one write with the text, a terminal reads it as
      // pasted text).
      await until(() => /Project name.*\n\s+tabby/.test(screen()), 'the default name');
      tmux('send-keys', '-t', 'i', 'BSpace', 'BSpace', 'BSpace', 'BSpace');
      tmux('send-keys', '-t', 'i', '-l', '--', '-x');
      await until(() => screen().includes('t-x'), 'the typed name');
      tmux('send-keys', '-t', 'i', 'Enter');
      await until(() => screen().includes('? CI'), 'the CI question');
      expect(screen()).toContain('✔ Project name: t-x');
      tmux('send-keys', '-t', 'i', 'Down');
      await until(() => /❯ GitLab CI/.test(screen()), 'GitLab CI to be focused');
      tmux('send-keys', '-t', 'i', 'Enter');
      await until(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8') : '').includes('EXIT='), 'init to end');
      expect(readFileSync(exitFile, 'utf8')).toContain('EXIT=0');
      expect(screen()).toContain('✔ CI: GitLab CI');
      expect(screen()).toContain('created envctl.yaml');
    } finally {
      spawnSync('tmux', ['-L', server, 'kill-server']);
    }
    const definition = await readFile(join(dir, 'envctl.yaml'), 'utf8');
    expect(definition).toMatch(/^name: t-x$/m);
    expect(definition).toContain('include: [ compose.yaml ]');
    expect(existsSync(join(dir, '.gitlab-ci.yml'))).toBe(true);
    expect(existsSync(join(dir, '.github'))).toBe(false);
  });

  it.skipIf(!hasTmux)('Ctrl-C at a question cancels on a terminal: exit 130, nothing written', async () => {
    const dir = join(root, 'cancel');
    await mkdir(dir);
    const { tmux, screen, until, server } = terminal('c');
    const exitFile = join(root, 'cancel-exit');
    const command = `cd '${dir}' && env -u CI '${process.execPath}' '${BIN}' init --ci none; echo "EXIT=$?" > '${exitFile}'; sleep 60`;
    try {
      tmux('new-session', '-d', '-s', 'c', '-x', '120', '-y', '30', command);
      await until(() => screen().includes('? Project name'), 'the name question');
      expect(screen()).not.toContain('? CI');
      tmux('send-keys', '-t', 'c', 'C-c');
      await until(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8') : '').includes('EXIT='), 'init to end');
      expect(readFileSync(exitFile, 'utf8')).toContain('EXIT=130');
      expect(screen()).toContain('init cancelled; nothing was written');
    } finally {
      spawnSync('tmux', ['-L', server, 'kill-server']);
    }
    expect(existsSync(join(dir, 'envctl.yaml'))).toBe(false);
  });
});
