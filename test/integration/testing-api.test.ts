/**
 * The testing API (`envctl/testing`) on the real engine: an environment started for a suite answers
 * over HTTP on 127.0.0.1, runs commands, shows logs, and `stop()` removes everything it owns (found
 * by its labels); a start that fails leaves nothing behind and says why. The SIGKILL case (the
 * reaper) is in test/e2e/testing-api.test.ts: it needs the built package in a child process.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { startEnvironment, type TestEnvironment } from '../../src/testing/index.js';
import { startReaper } from '../../src/testing/reaper.js';
import { objectsWith, removeProject, TEST_PROJECT_PREFIX, uniqueProject } from '../support/docker.js';

const NODE_IMAGE = 'envctl/base-node:24';
const DEFINITION_PROJECT = `${TEST_PROJECT_PREFIX}tapi`;

/** A web server that greets with $GREETING, and a worker with a named volume; `ci` changes the greeting. */
const definition = {
  name: DEFINITION_PROJECT,
  services: {
    web: {
      image: NODE_IMAGE,
      command: ['node', '-e', "console.log('web starting'); require('node:http').createServer((q, s) => s.end('hello ' + process.env.GREETING)).listen(3000)"],
      environment: { GREETING: 'local' },
      ports: ['127.0.0.1:${TAPI_WEB_PORT:-18080}:3000'],
      healthcheck: { test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:3000').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"], interval: '500ms', retries: 40 },
    },
    worker: { image: NODE_IMAGE, command: ['sleep', 'infinity'], volumes: ['scratch:/scratch'] },
  },
  volumes: { scratch: {} },
  environments: { ci: { services: { web: { environment: { GREETING: 'ci' } } } } },
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-testing-api-'));
  // JSON is YAML: the definition is written as the object above.
  await writeFile(join(dir, 'envctl.yaml'), JSON.stringify(definition, null, 2));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('startEnvironment', () => {
  it('starts an overlay under its own project, healthy, reachable on 127.0.0.1, with exec and logs', async () => {
    const environment = await startEnvironment({ dir, env: 'ci', timeout: '90s' });
    onTestFinished(() => environment.stop());
    expect(environment.project).toMatch(new RegExp(`^${DEFINITION_PROJECT}-test-[0-9a-f]{8}$`));
    expect(environment.env).toBe('ci');
    expect(environment.services).toEqual(['web', 'worker']);
    expect(environment.labels).toMatchObject({ [LABEL.project]: environment.project, [LABEL.env]: 'ci', [LABEL.run]: expect.stringMatching(/^test-/) });

    // The declared host port moved to one the engine chose: a developer's `up` on 18080 is not in the way.
    const url = environment.url('web');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(environment.address('web', 3000)).toEqual({ host: '127.0.0.1', port: Number(new URL(url).port) });
    expect(new URL(url).port).not.toBe('18080');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello ci');

    const exec = await environment.exec('worker', ['sh', '-c', 'echo out; echo err >&2; touch /scratch/x && ls /scratch; exit 3']);
    expect(exec).toEqual({ exitCode: 3, stdout: 'out\nx\n', stderr: 'err\n' });
    expect((await environment.exec('web', ['node', '-e', 'process.stdout.write(process.env.GREETING)'])).stdout).toBe('ci');
    expect((await environment.logs('web')).split('\n')).toContain('web starting');

    expect(() => environment.url('nope')).toThrow(/no service "nope".*/);
    expect(() => environment.url('worker')).toThrow(/service worker: no published TCP port/);
    expect(() => environment.url('web', 4000)).toThrow(/container port 4000 is not published/);

    const owned = await objectsWith(environment.labels);
    expect(owned).toEqual([
      `container /${environment.project}-ci-web`,
      `container /${environment.project}-ci-worker`,
      `network ${environment.project}-ci_default`,
      `volume ${environment.project}-ci_scratch`,
    ].sort());
  });

  it('stop() removes every object carrying the labels, volumes included, and may be called again', async () => {
    const environment = await startEnvironment({ dir, timeout: '90s' });
    onTestFinished(() => removeProject(environment.project));
    const labels = environment.labels;
    expect(await objectsWith(labels)).toContain(`volume ${environment.project}_scratch`);
    await environment.stop();
    expect(await objectsWith(labels)).toEqual([]);
    await environment.stop();
    await environment[Symbol.asyncDispose]();
    // Nothing else of the project is left either (not only what carries the run label).
    expect(await objectsWith({ [LABEL.project]: environment.project })).toEqual([]);
  });

  it('two starts of the same definition run side by side', async () => {
    const started = await Promise.allSettled([startEnvironment({ dir }), startEnvironment({ dir })]);
    const running = started.flatMap((each) => (each.status === 'fulfilled' ? [each.value] : []));
    if (running.length < 2) {
      await Promise.all(running.map((each) => each.stop()));
      throw started.find((each): each is PromiseRejectedResult => each.status === 'rejected')!.reason;
    }
    const [first, second] = running as [TestEnvironment, TestEnvironment];
    try {
      expect(first.project).not.toBe(second.project);
      expect(first.url('web')).not.toBe(second.url('web'));
      const bodies = await Promise.all([first, second].map(async (each) => (await fetch(each.url('web'))).text()));
      expect(bodies).toEqual(['hello local', 'hello local']);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    expect(await objectsWith({ [LABEL.project]: first.project })).toEqual([]);
    expect(await objectsWith({ [LABEL.project]: second.project })).toEqual([]);
  });

  it('keepVolumes keeps the named volume and only it; ports: declared publishes as written', async () => {
    const project = uniqueProject('tapi-keep');
    const port = await freePort();
    try {
      const kept = await startEnvironment({ dir, project, keepVolumes: true, ports: 'declared', processEnv: { ...process.env, TAPI_WEB_PORT: String(port) } });
      expect(kept.url('web')).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(`http://127.0.0.1:${port}`)).text()).toBe('hello local');
      await kept.exec('worker', ['touch', '/scratch/sentinel']);
      await kept.stop();
      expect(await objectsWith({ [LABEL.project]: project })).toEqual([`volume ${project}_scratch`]);
    } finally {
      await removeProject(project);
    }
  });
});

describe('startEnvironment when the environment cannot start', () => {
  it('rejects with the failing service and its last log lines, and leaves nothing behind', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'envctl-testing-api-broken-'));
    const project = uniqueProject('tapi-broken');
    try {
      await writeFile(join(broken, 'envctl.yaml'), JSON.stringify({ name: 'broken', services: { job: { image: NODE_IMAGE, command: ['sh', '-c', 'echo cannot connect to db >&2; exit 4'] } }, volumes: { data: {} } }));
      const failure = await startEnvironment({ dir: broken, project }).then(
        () => undefined,
        (error: unknown) => error as Error & { code?: string },
      );
      expect(failure?.code).toBe('NOT_READY');
      expect(failure?.message).toContain('job: exited (4)');
      expect(failure?.message).toContain('cannot connect to db');
      expect(await objectsWith({ [LABEL.project]: project })).toEqual([]);
    } finally {
      await removeProject(project);
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('the reaper refuses to watch without labels (its filter would match everything)', async () => {
    await expect(startReaper({ labels: {}, keepVolumes: false, processEnv: process.env })).rejects.toThrow(/the reaper did not start: .*names no labels/);
  });

  it('refuses bad options before starting anything', async () => {
    await expect(startEnvironment({ dir, project: 'Bad Name' })).rejects.toThrow(/invalid project name "Bad Name"/);
    await expect(startEnvironment({ dir, timeout: 'soon' })).rejects.toThrow(/invalid timeout "soon"/);
    await expect(startEnvironment({ dir, env: 'nope' })).rejects.toMatchObject({ exitCode: 2 });
  });
});
