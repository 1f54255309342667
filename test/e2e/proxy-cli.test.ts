/**
 * `envctl proxy status|weights|routes` as a user runs them, without Docker: the proxy runs in this
 * process on loopback (three in-process backends, its admin socket in the release folder), and the
 * release is a state.json written the way store.ts writes it. What the commands show, the refusal
 * to change a split a controller drives, the event a change leaves, and each "no proxy" case.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRouter } from '../../src/proxy/routing.js';
import { startProxy, type ProxyHandle, type ProxyOptions } from '../../src/proxy/server.js';
import { ARMS, type Weights } from '../../src/proxy/types.js';
import type { ReleaseState } from '../../src/release/store.js';
import { envctl } from '../support/cli.js';
import { releaseState } from '../support/release-state.js';

const ID = 'r-20261126T120000Z-1a2b';
const OLDER = 'r-20261125T120000Z-0f0f';
const WEIGHTS: Weights = { canary: 10, baseline: 10, prod: 80 };
const DEFINITION = 'name: proxycli\nservices:\n  web:\n    image: envctl-demo-web:1\npipeline:\n  release: { service: web }\n';

let dir: string;
let releaseDir: string;
let proxy: ProxyHandle;
const backends: Server[] = [];

function state(patch: Partial<ReleaseState> = {}): ReleaseState {
  return releaseState(ID, {
    project: 'proxycli',
    weights: WEIGHTS,
    images: { prod: 'envctl-demo-web:1', canary: 'envctl-demo-web:2' },
    containers: {
      proxy: { id: 'p'.repeat(64), name: 'proxycli-web-release-proxy' },
      prod: { id: 'a'.repeat(64), name: 'proxycli-web-1' },
      canary: { id: 'b'.repeat(64), name: 'proxycli-web-canary' },
      baseline: { id: 'c'.repeat(64), name: 'proxycli-web-baseline' },
    },
    proxy: { hostPort: proxy.port, adminSocket: join(releaseDir, 'admin.sock') },
    stepStartsNs: { '1': '1' },
    ...patch,
  });
}

async function writeState(value: ReleaseState, id = ID): Promise<void> {
  await mkdir(join(dir, '.envctl/releases', id), { recursive: true });
  await writeFile(join(dir, '.envctl/releases', id, 'state.json'), `${JSON.stringify(value, null, 2)}\n`);
}

async function run(args: readonly string[], cwd = dir) {
  const result = await envctl(args, { cwd });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function json<T = Record<string, unknown>>(args: readonly string[]): Promise<{ exitCode: number | undefined; body: T }> {
  const result = await run([...args, '--json']);
  return { exitCode: result.exitCode, body: JSON.parse(result.stdout) as T };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-proxy-cli-'));
  releaseDir = join(dir, '.envctl/releases', ID);
  await mkdir(releaseDir, { recursive: true });
  await writeFile(join(dir, 'envctl.yaml'), DEFINITION);
  const upstreams = await Promise.all(
    ARMS.map(async (arm) => {
      const server = createServer((request, response) => {
        request.resume();
        response.statusCode = arm === 'canary' && request.url === '/boom' ? 500 : 200;
        response.end(arm);
      });
      backends.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return [arm, { host: '127.0.0.1', port: (server.address() as AddressInfo).port }] as const;
    }),
  );
  proxy = await startProxy({
    upstreams: Object.fromEntries(upstreams) as ProxyOptions['upstreams'],
    router: createRouter(WEIGHTS, { sticky: 'none' }),
    adminSocketPath: join(releaseDir, 'admin.sock'),
    step: 1,
  });
  // Two routes of 20 requests each, and one pinned to the canary.
  for (let i = 0; i < 20; i += 1) {
    await (await fetch(`http://127.0.0.1:${proxy.port}/api/items/${i}`)).text();
    await (await fetch(`http://127.0.0.1:${proxy.port}/health`)).text();
  }
  await (await fetch(`http://127.0.0.1:${proxy.port}/health`, { headers: { 'X-Envctl-Target': 'canary' } })).text();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all(backends.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  proxy.applyWeights(WEIGHTS);
  await writeState(state());
  await rm(join(releaseDir, 'events.jsonl'), { force: true });
});

describe('envctl proxy status', () => {
  it('shows the URL, the split, the step and per-arm totals as a table', async () => {
    const result = await run(['proxy', 'status']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`proxy    http://127.0.0.1:${proxy.port}  (release ${ID}, running)`);
    expect(lines[1]).toBe('weights  canary=10 baseline=10 prod=80  step 1');
    expect(lines[2]).toBe('open     0 in flight, 0 tunnels');
    expect(lines[4]).toMatch(/^arm\s+requests\s+bad\s+4xx\s+overrides\s+upstream errors\s+p50 ms\s+p95 ms\s+p99 ms$/);
    expect(lines[5]).toMatch(/^canary\s+5\s+0\s+0\s+1\s+0\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d$/);
    expect(lines[7]).toMatch(/^prod\s+32\s+0\s+0\s+0\s+0\s/);
  });

  it('returns the admin status with the release id and URL for --json', async () => {
    const { exitCode, body } = await json(['proxy', 'status']);
    expect(exitCode).toBe(0);
    expect(body).toMatchObject({ release: ID, releaseStatus: 'running', url: `http://127.0.0.1:${proxy.port}`, weights: WEIGHTS, step: 1, inFlight: 0, lastSeq: 41 });
    expect(body).toHaveProperty('metrics.total.baseline.requests', 4);
  });
});

describe('envctl proxy routes', () => {
  it('shows each route’s records per arm and their share, overrides apart', async () => {
    const result = await run(['proxy', 'routes']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`release ${ID} (running), step 1: weights canary=10 baseline=10 prod=80`);
    expect(lines[1]).toMatch(/^route\s+requests\s+canary\s+baseline\s+prod\s+override$/);
    expect(lines[2]).toMatch(/^GET \/health\s+21\s+2 \(10\.0%\)\s+2 \(10\.0%\)\s+16 \(80\.0%\)\s+1$/);
    expect(lines[3]).toMatch(/^GET \/api\/items\/:id\s+20\s+2 \(10\.0%\)\s+2 \(10\.0%\)\s+16 \(80\.0%\)\s+0$/);
    expect(lines).toHaveLength(4);
  });

  it('returns the counts and shares for --json, and an empty step says so', async () => {
    const { body } = await json<{ step: number; routes: Array<Record<string, unknown>> }>(['proxy', 'routes']);
    expect(body.step).toBe(1);
    expect(body.routes[1]).toEqual({ routeKey: 'GET /api/items/:id', arms: { canary: 2, baseline: 2, prod: 16 }, override: 0, requests: 20, share: { canary: 10, baseline: 10, prod: 80 } });
    const empty = await run(['proxy', 'routes', '--step', '3']);
    // execa drops the final newline.
    expect(empty.stdout).toBe(`release ${ID} (running), step 3 (now step 1)\nno requests in step 3 yet`);
  });
});

describe('envctl proxy weights', () => {
  it('shows the live split', async () => {
    const result = await run(['proxy', 'weights']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`weights  canary=10 baseline=10 prod=80\nrelease  ${ID} (running), step 1, proxy http://127.0.0.1:${proxy.port}`);
  });

  it('refuses to set the split while the controller drives it, naming approve, abort and --force', async () => {
    const result = await run(['proxy', 'weights', '--set', 'canary=20,baseline=20,prod=60']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/release r-20261126T120000Z-1a2b is running: its controller sets the weights at every step/);
    expect(result.stderr).toMatch(/envctl release approve.*envctl release abort.*--force/);
    expect(proxy.weights()).toEqual(WEIGHTS);
  });

  it('refuses bad weights before reading anything, with exit 2', async () => {
    const { exitCode, body } = await json(['proxy', 'weights', '--set', 'canary=20,baseline=20,prod=70']);
    expect(exitCode).toBe(2);
    expect(body).toMatchObject({ error: { code: 'BAD_WEIGHTS', message: '--set: invalid weights canary=20 baseline=20 prod=70: must sum to 100, got 110' } });
  });

  it('sets the split of an ended release and appends a "weights" event with who did it', async () => {
    await writeState(state({ status: 'rolled-back', weights: { canary: 0, baseline: 0, prod: 100 } }));
    proxy.applyWeights({ canary: 0, baseline: 0, prod: 100 });
    const result = await run(['proxy', 'weights', '--set', 'canary=5,baseline=5,prod=90']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('weights  canary=5 baseline=5 prod=90  (was canary=0 baseline=0 prod=100)');
    expect(result.stdout).toContain('the release records canary=0 baseline=0 prod=100');
    expect(proxy.weights()).toEqual({ canary: 5, baseline: 5, prod: 90 });
    const events = (await readFile(join(releaseDir, 'events.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ release: ID, event: 'weights', weights: { canary: 5, baseline: 5, prod: 90 }, previous: { canary: 0, baseline: 0, prod: 100 }, status: 'rolled-back', forced: false, step: 1 });
    expect(events[0]!.actor).toEqual(expect.any(String));
    expect(events[0]!.tMonoNs).toMatch(/^\d+$/);
  });

  it('sets it anyway with --force, and says so in the event', async () => {
    const { exitCode, body } = await json(['proxy', 'weights', '--set', 'canary=25,baseline=25,prod=50', '--force']);
    expect(exitCode).toBe(0);
    expect(body).toMatchObject({ weights: { canary: 25, baseline: 25, prod: 50 }, change: { previous: WEIGHTS, forced: true } });
    const event = JSON.parse((await readFile(join(releaseDir, 'events.jsonl'), 'utf8')).trim()) as Record<string, unknown>;
    expect(event).toMatchObject({ event: 'weights', forced: true, status: 'running' });
  });
});

describe('without a proxy', () => {
  it('says so when the release’s proxy was removed, and what to run', async () => {
    await writeState(state({ status: 'promoted', proxy: null, containers: { ...state().containers, proxy: null } }));
    const { exitCode, body } = await json(['proxy', 'status']);
    expect(exitCode).toBe(3);
    expect(body).toMatchObject({ error: { code: 'NO_PROXY', hint: expect.stringContaining('envctl release start') } });
  });

  it('picks the latest release that still has a proxy', async () => {
    // The older release's socket, in its own folder, leads to the same proxy.
    const olderDir = join(dir, '.envctl/releases', OLDER);
    await mkdir(olderDir, { recursive: true });
    await symlink(join(releaseDir, 'admin.sock'), join(olderDir, 'admin.sock'));
    await writeState(state({ id: OLDER, status: 'promoted', proxy: { hostPort: proxy.port, adminSocket: join(olderDir, 'admin.sock') } }), OLDER);
    await writeState(state({ status: 'failed', proxy: null, containers: { ...state().containers, proxy: null } }));
    try {
      const { exitCode, body } = await json(['proxy', 'weights']);
      expect(exitCode).toBe(0);
      expect(body).toMatchObject({ release: OLDER });
    } finally {
      await rm(join(dir, '.envctl/releases', OLDER), { recursive: true, force: true });
    }
  });

  it('names the release and its container when the proxy does not answer', async () => {
    const silent = 'r-20261126T110000Z-5151';
    await writeState(state({ id: silent, proxy: { hostPort: proxy.port, adminSocket: join(dir, '.envctl/releases', silent, 'admin.sock') } }), silent);
    try {
      const result = await run(['proxy', 'routes', '--release', silent]);
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toMatch(/the proxy of release r-20261126T110000Z-5151 does not answer/);
      expect(result.stderr).toMatch(/docker restart proxycli-web-release-proxy/);
    } finally {
      await rm(join(dir, '.envctl/releases', silent), { recursive: true, force: true });
    }
  });

  it('refuses a state file whose socket points outside its release folder', async () => {
    const forged = 'r-20261126T100000Z-6666';
    await writeState(state({ id: forged, proxy: { hostPort: proxy.port, adminSocket: join(releaseDir, 'admin.sock') } }), forged);
    try {
      const result = await run(['proxy', 'status', '--release', forged]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/does not belong to its folder/);
    } finally {
      await rm(join(dir, '.envctl/releases', forged), { recursive: true, force: true });
    }
  });

  it('refuses an approval for a release that is not waiting at a gate (nothing is kept for later)', async () => {
    await writeState(state({ status: 'running', step: 1 }));
    const result = await run(['release', 'approve', ID]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/is not waiting at a gate \(running, step 1\)/);
    await expect(readFile(join(releaseDir, 'control.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says there is no release yet in a project without one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'envctl-proxy-cli-empty-'));
    try {
      await writeFile(join(empty, 'envctl.yaml'), DEFINITION);
      const result = await run(['proxy', 'status'], empty);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/no release of web in proxycli \(default\) yet/);
      expect(result.stderr).toMatch(/envctl release start/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
