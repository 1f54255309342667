/**
 * `envctl/testing` as a user's test process gets it: the built package imported by name (package
 * "exports", with types), and the reaper: a test process SIGKILLed after its environment started,
 * or with its whole process group while it was starting, leaves nothing carrying the environment's
 * labels once the reaper has run. `npm run build` first (the e2e tests use dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { objectsWith, removeProject, TEST_PROJECT_PREFIX, uniqueProject } from '../support/docker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../fixtures/testing-api/start-and-wait.mjs', import.meta.url));
const NODE_IMAGE = 'envctl/base-node:24';
/** Bound on how long the reaper may take to remove everything after the kill (ms); it usually needs about 1 s. */
const REAPED_WITHIN_MS = 60_000;

const server = "require('node:http').createServer((q, s) => s.end('up')).listen(3000)";
const definition = (health: string) => ({
  name: `${TEST_PROJECT_PREFIX}tapi-kill`,
  services: {
    web: {
      image: NODE_IMAGE,
      command: ['node', '-e', server],
      ports: ['3000'],
      volumes: ['data:/data'],
      healthcheck: { test: ['CMD', 'sh', '-c', health], interval: '500ms', retries: 200 },
    },
    sidecar: { image: NODE_IMAGE, command: ['sleep', 'infinity'], depends_on: { web: { condition: 'service_healthy' } } },
  },
  volumes: { data: {} },
});

let dir: string;
const children: ChildProcess[] = [];
const projects: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-testing-kill-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const project of projects.splice(0)) await removeProject(project);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Polls until `check` returns true or the bound passes; returns the last value seen. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

/** `group`: the child leads its own process group, so the test can kill the group (as a terminal's Ctrl-C or a CI runner does). */
function startChild(folder: string, project: string, options: { group?: boolean } = {}): { child: ChildProcess; firstLine: Promise<string>; stderr: () => string } {
  const child = spawn(process.execPath, [CHILD, folder, project], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' }, detached: options.group ?? false });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code, signal) => reject(new Error(`the child exited (${signal ?? code}) before it started: ${stderr}`)));
  });
  // A test that kills the child before its first line does not wait for it.
  firstLine.catch(() => undefined);
  return { child, firstLine, stderr: () => stderr };
}

async function killed(child: ChildProcess, options: { group?: boolean } = {}): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (options.group) process.kill(-child.pid!, 'SIGKILL');
  else child.kill('SIGKILL');
  await exited;
}

describe('the reaper', () => {
  it('removes the environment of a test process that was SIGKILLed after it started', async () => {
    const folder = join(dir, 'started');
    await mkdir(folder);
    await writeFile(join(folder, 'envctl.yaml'), JSON.stringify(definition('true')));
    const project = uniqueProject('tapi-kill');
    projects.push(project);
    const { child, firstLine } = startChild(folder, project);
    const started = JSON.parse(await firstLine) as { project: string; labels: Record<string, string>; url: string };
    expect(started.project).toBe(project);
    expect(await (await fetch(started.url)).text()).toBe('up');
    expect(await objectsWith(started.labels)).toEqual([`container /${project}-sidecar`, `container /${project}-web`, `network ${project}_default`, `volume ${project}_data`]);

    await killed(child);
    const left = await pollUntil(() => objectsWith({ [LABEL.project]: project }), (objects) => objects.length === 0, REAPED_WITHIN_MS);
    expect(left).toEqual([]);
  });

  it('removes what a test process had created when its whole process group was SIGKILLed in the middle of starting', async () => {
    const folder = join(dir, 'starting');
    await mkdir(folder);
    // web is never healthy, so the child is still waiting in `up` (sidecar not created) when it dies.
    await writeFile(join(folder, 'envctl.yaml'), JSON.stringify(definition('false')));
    const project = uniqueProject('tapi-kill-mid');
    projects.push(project);
    const { child } = startChild(folder, project, { group: true });
    const created = await pollUntil(() => objectsWith({ [LABEL.project]: project }), (objects) => objects.some((object) => object.startsWith('container ')), 60_000);
    expect(created).toContain(`container /${project}-web`);

    // The reaper runs in a session of its own: the group kill does not reach it.
    await killed(child, { group: true });
    const left = await pollUntil(() => objectsWith({ [LABEL.project]: project }), (objects) => objects.length === 0, REAPED_WITHIN_MS);
    expect(left).toEqual([]);
  });
});

describe('the package entry point', () => {
  it('resolves envctl/testing to the built module with its types', async () => {
    // Inside the package folder, so the import resolves by the package's own "exports".
    const work = join(ROOT, 'test-artifacts', `testing-api-types-${process.pid}`);
    await mkdir(work, { recursive: true });
    try {
      const consumer = join(work, 'consumer.ts');
      await writeFile(
        consumer,
        [
          "import { startEnvironment, type TestEnvironment } from 'envctl/testing';",
          'export async function run(): Promise<number> {',
          "  await using environment: TestEnvironment = await startEnvironment({ dir: '.', env: 'ci', timeout: '1m' });",
          "  const result = await environment.exec('web', ['true']);",
          "  return result.exitCode + environment.address('web', 3000).port + environment.url('web').length;",
          '}',
          "// @ts-expect-error: the port is a number",
          "export const wrong = (environment: TestEnvironment) => environment.url('web', '3000');",
        ].join('\n'),
      );
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2023,esnext.disposable', '--types', 'node', consumer], { cwd: ROOT }).then(
        () => ({ code: 0, output: '' }),
        (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
      );
      expect(result).toEqual({ code: 0, output: '' });

      const imported = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "const m = await import('envctl/testing'); console.log(typeof m.startEnvironment)"], { cwd: ROOT });
      expect(imported.stdout.trim()).toBe('function');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
