/**
 * Passive health ejection over real loopback traffic (the issue: "the proxy keeps serving the last
 * weights and never routes to zero healthy backends"): three in-process backends, the proxy in this
 * process, a backend killed and started again on the same port. Time is the proxy's `clock` option,
 * the real monotonic clock plus a skew the test moves, so windows pass without sleeping.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/proxy/admin-client.js';
import { createRouter } from '../../src/proxy/routing.js';
import { startProxy, type ProxyHandle, type ProxyOptions } from '../../src/proxy/server.js';
import { ARMS, type Arm, type RequestRecord, type Weights } from '../../src/proxy/types.js';

const MS = 1_000_000n;
/** Fresh counters of 25/25/50 serve each stratum in the cycle prod, canary, baseline, prod. */
const STEP_25: Weights = { canary: 25, baseline: 25, prod: 50 };

interface Backend {
  port: number;
  server: Server;
  /** Methods of the requests it answered. */
  seen: string[];
}

interface Reply {
  status: number;
  arm: string | undefined;
  body: string;
}

const servers: Server[] = [];
const proxies: ProxyHandle[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-ejection-'));
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(servers.splice(0).map((server) => stopServer(server)));
  await rm(dir, { recursive: true, force: true });
});

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Answers its arm's name after reading the body; on `port` when given (a restart). */
async function startBackend(arm: Arm, port = 0): Promise<Backend> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(request.method ?? '');
    request.resume();
    request.on('end', () => response.end(arm));
  });
  // Accepts any upgrade, then closes the tunnel.
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    seen.push(`UPGRADE ${request.method ?? ''}`);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
  });
  servers.push(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server, seen };
}

async function startHarness(weights: Weights, options: Partial<ProxyOptions> = {}) {
  const backends = Object.fromEntries(await Promise.all(ARMS.map(async (arm) => [arm, await startBackend(arm)] as const))) as Record<Arm, Backend>;
  const records: RequestRecord[] = [];
  let skewNs = 0n;
  const proxy = await startProxy({
    upstreams: Object.fromEntries(ARMS.map((arm) => [arm, { host: '127.0.0.1', port: backends[arm].port }])) as ProxyOptions['upstreams'],
    router: createRouter(weights, { sticky: 'none' }),
    record: (record) => records.push(record),
    clock: () => process.hrtime.bigint() + skewNs,
    adminSocketPath: join(dir, 'admin.sock'),
    upstreamTimeout: 2000,
    ...options,
  });
  proxies.push(proxy);
  return {
    proxy,
    backends,
    records,
    /** Moves the proxy's clock forward. */
    advance(ms: number): void {
      skewNs += BigInt(ms) * MS;
    },
    /** Stops an arm's backend: its port refuses connections. */
    async kill(arm: Arm): Promise<void> {
      await stopServer(backends[arm].server);
      // Let the proxy's keep-alive agent see its pooled sockets to that backend close.
      await sleep(50);
    },
    async revive(arm: Arm): Promise<void> {
      backends[arm] = await startBackend(arm, backends[arm].port);
    },
  };
}

function send(port: number, method = 'POST', path = '/orders'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, agent: false }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, arm: response.headers['x-envctl-arm'] as string | undefined, body: Buffer.concat(chunks).toString() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(method === 'POST' ? '{"n":1}' : undefined);
  });
}

/** `n` requests one after the other (so the router's order is the arrival order). */
async function sendMany(port: number, n: number, method = 'POST'): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let index = 0; index < n; index += 1) replies.push(await send(port, method));
  return replies;
}

/** An upgrade request: `101 <arm>` when the tunnel opened, else the status and arm of the refusal. */
function upgrade(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/ws', headers: { connection: 'Upgrade', upgrade: 'test' }, agent: false });
    request.on('upgrade', (response: IncomingMessage, socket: Duplex) => {
      socket.destroy();
      resolve(`101 ${String(response.headers['x-envctl-arm'])}`);
    });
    request.on('response', (response: IncomingMessage) => {
      response.resume();
      resolve(`${response.statusCode ?? 0} ${String(response.headers['x-envctl-arm'])}`);
    });
    request.on('error', reject);
    request.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const brief = ({ arm, status, upstreamError, override }: RequestRecord) => ({ arm, status, upstreamError, override });

describe('passive health ejection', () => {
  it('ejects a dead canary after 3 connect failures, serves its POSTs from prod as overrides, probes it, and re-admits it when it is back', async () => {
    const { proxy, backends, records, advance, kill, revive } = await startHarness(STEP_25);
    const admin = createAdminClient(join(dir, 'admin.sock'));
    expect((await sendMany(proxy.port, 4)).map((reply) => reply.status)).toEqual([200, 200, 200, 200]);

    await kill('canary');
    proxy.setWeights(STEP_25);
    const whileDown = await sendMany(proxy.port, 40);
    await eventually(() => records.length === 44);
    const down = records.slice(4);
    // 40 requests at 25 % give the canary 10 (positions 2, 6, 10, …): the first three fail, then it
    // is ejected and the other seven are served by prod.
    expect(whileDown.filter((reply) => reply.status === 502).map((reply) => reply.arm)).toEqual(['canary', 'canary', 'canary']);
    expect(whileDown.filter((reply) => reply.status === 200)).toHaveLength(37);
    expect(down.filter((record) => record.arm === 'canary').map(brief)).toEqual(Array(3).fill({ arm: 'canary', status: 502, upstreamError: 'connect', override: false }));
    const rerouted = down.filter((record) => record.override);
    expect(rerouted.map(brief)).toEqual(Array(7).fill({ arm: 'prod', status: 200, upstreamError: 'none', override: true }));
    expect(rerouted.every((record) => record.seq > down.filter((r) => r.arm === 'canary').at(-1)!.seq)).toBe(true);
    // The statistics keep them apart: the split counts them as overrides, not as prod's weighted share
    // (the first four requests included: prod 2, canary 1, baseline 1).
    expect(proxy.routes().routes.find((route) => route.routeKey === 'POST /orders')).toMatchObject({ arms: { canary: 4, baseline: 11, prod: 22 }, override: 7 });

    const status = await admin.status();
    expect(status.ejected).toEqual({
      canary: { untilNs: expect.stringMatching(/^\d+$/), windowMs: 5000, failures: 3, probing: false },
      baseline: null,
      prod: null,
    });
    expect(BigInt(status.ejected!.canary!.untilNs)).toBeGreaterThan(BigInt(status.nowNs));

    // Window over, canary still dead: the canary's next request is the probe; it fails and the
    // canary is ejected again, for twice as long.
    advance(5000);
    proxy.setWeights(STEP_25);
    const probeRound = await sendMany(proxy.port, 8);
    expect(probeRound.map((reply) => `${reply.status} ${reply.arm}`)).toEqual(['200 prod', '502 canary', '200 baseline', '200 prod', '200 prod', '200 prod', '200 baseline', '200 prod']);
    expect(proxy.status().ejected.canary).toMatchObject({ windowMs: 10_000, failures: 4 });

    // Back, but within the window: nothing is sent to it yet.
    await revive('canary');
    proxy.setWeights(STEP_25);
    expect((await sendMany(proxy.port, 4)).map((reply) => reply.arm)).toEqual(['prod', 'prod', 'baseline', 'prod']);
    expect(backends.canary.seen).toEqual([]);

    // After the window the probe connects: re-admitted, and its requests are weighted again.
    await eventually(() => records.length === 56);
    advance(10_000);
    proxy.setWeights(STEP_25);
    const before = records.length;
    const back = await sendMany(proxy.port, 8);
    expect(back.map((reply) => `${reply.status} ${reply.arm}`)).toEqual(['200 prod', '200 canary', '200 baseline', '200 prod', '200 prod', '200 canary', '200 baseline', '200 prod']);
    await eventually(() => records.length === before + 8);
    expect(records.slice(before).filter((record) => record.arm === 'canary').map(brief)).toEqual(Array(2).fill({ arm: 'canary', status: 200, upstreamError: 'none', override: false }));
    expect(backends.canary.seen).toEqual(['POST', 'POST']);
    expect((await admin.status()).ejected).toEqual({ canary: null, baseline: null, prod: null });
  });

  it('never routes to zero healthy backends: prod at weight 0 serves when canary and baseline are dead; with every arm dead, the weights decide', async () => {
    const { proxy, records, kill, revive } = await startHarness({ canary: 50, baseline: 50, prod: 0 });
    await kill('canary');
    await kill('baseline');
    const replies = await sendMany(proxy.port, 12);
    // canary, baseline, canary, baseline, canary (3rd canary failure), baseline (3rd): then prod serves.
    expect(replies.map((reply) => `${reply.status} ${reply.arm}`)).toEqual([
      ...Array(3).fill(['502 canary', '502 baseline']).flat(),
      ...Array(6).fill('200 prod'),
    ]);
    await eventually(() => records.length === 12);
    expect(records.slice(6).every((record) => record.arm === 'prod' && record.override)).toBe(true);
    expect(proxy.status().ejected).toMatchObject({ canary: { failures: 3 }, baseline: { failures: 3 }, prod: null });

    // Prod dies too: three failures eject it, and with nothing healthy left the requests go where the
    // weights say (and fail as before, 502).
    await kill('prod');
    const allDown = await sendMany(proxy.port, 6);
    expect(allDown.map((reply) => `${reply.status} ${reply.arm}`)).toEqual([
      '502 prod',
      '502 prod',
      '502 prod',
      '502 baseline',
      '502 canary',
      '502 baseline',
    ]);
    await eventually(() => records.length === 18);
    // The three on prod were moved there (overrides); the last three follow the weights.
    expect(records.slice(12).map(brief)).toEqual([
      ...Array(3).fill({ arm: 'prod', status: 502, upstreamError: 'connect', override: true }),
      { arm: 'baseline', status: 502, upstreamError: 'connect', override: false },
      { arm: 'canary', status: 502, upstreamError: 'connect', override: false },
      { arm: 'baseline', status: 502, upstreamError: 'connect', override: false },
    ]);
    expect(Object.values(proxy.status().ejected).every((ejection) => ejection !== null)).toBe(true);

    // A pinned request still reaches its arm, and a connection there re-admits it at once.
    await revive('baseline');
    const pinned = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/', headers: { 'x-envctl-target': 'baseline' }, agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end();
    });
    expect(pinned).toBe(200);
    expect(proxy.status().ejected.baseline).toBeNull();
    expect((await sendMany(proxy.port, 2)).map((reply) => `${reply.status} ${reply.arm}`)).toEqual(['200 baseline', '200 baseline']);
  });

  it('retries a GET that meets the dead canary before its ejection, and moves it without a failure after', async () => {
    const { proxy, records, kill } = await startHarness(STEP_25);
    await kill('canary');
    const replies = await sendMany(proxy.port, 16, 'GET');
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    await eventually(() => records.length === 19);
    // Three failed attempts (each retried on prod, the arm with the highest weight), then none.
    expect(records.filter((record) => record.status === 502).map(brief)).toEqual(Array(3).fill({ arm: 'canary', status: 502, upstreamError: 'connect', override: false }));
    expect(records.filter((record) => record.override).map((record) => record.arm)).toEqual(Array(4).fill('prod'));
  });

  it('moves upgrade requests off an ejected arm too', async () => {
    const { proxy, records, kill } = await startHarness({ canary: 50, baseline: 50, prod: 0 });
    await kill('canary');
    const tunnels: string[] = [];
    for (let index = 0; index < 8; index += 1) tunnels.push(await upgrade(proxy.port));
    // Upgrades are never retried: the three that meet the dead canary fail, later ones go to prod.
    expect(tunnels).toEqual(['502 canary', '101 baseline', '502 canary', '101 baseline', '502 canary', '101 baseline', '101 prod', '101 baseline']);
    await eventually(() => records.length === 8);
    expect(records.filter((record) => record.override).map(brief)).toEqual([{ arm: 'prod', status: 101, upstreamError: 'none', override: true }]);
    expect(proxy.status().ejected.canary).toMatchObject({ failures: 3 });
  });
});
