/**
 * The release proxy over real loopback traffic: three in-process `node:http` backends on 127.0.0.1
 * that answer with their arm's name, the proxy in the same process. No Docker.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRouter } from '../../src/proxy/routing.js';
import { startProxy, type ProxyHandle, type ProxyOptions } from '../../src/proxy/server.js';
import { ARMS, type Arm, type RequestRecord, type Weights } from '../../src/proxy/types.js';

type Handler = (request: IncomingMessage, response: ServerResponse, arm: Arm) => void;

interface Backend {
  arm: Arm;
  port: number;
  server: Server;
  /** Requests seen, in arrival order. */
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[];
}

interface Harness {
  proxy: ProxyHandle;
  backends: Record<Arm, Backend>;
  records: RequestRecord[];
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const servers: Server[] = [];
const proxies: ProxyHandle[] = [];
const agents: Agent[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-proxy-'));
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
});

/** Reads the request body, then answers `<arm>` (or whatever `handler` does). */
const answerWithArm: Handler = (request, response, arm) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(arm);
  });
};

async function startBackend(arm: Arm, handler: Handler): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const server = createServer((request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    handler(request, response, arm);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { arm, port: (server.address() as AddressInfo).port, server, seen };
}

async function startHarness(weights: Weights, handler: Handler = answerWithArm, options: Partial<ProxyOptions> = {}): Promise<Harness> {
  const backends = Object.fromEntries(await Promise.all(ARMS.map(async (arm) => [arm, await startBackend(arm, handler)] as const))) as Record<
    Arm,
    Backend
  >;
  const records: RequestRecord[] = [];
  const proxy = await startProxy({
    upstreams: Object.fromEntries(ARMS.map((arm) => [arm, { host: '127.0.0.1', port: backends[arm].port }])) as ProxyOptions['upstreams'],
    router: createRouter(weights, { sticky: 'none' }),
    record: (record) => records.push(record),
    headersTimeout: 2000,
    ...options,
  });
  proxies.push(proxy);
  return { proxy, backends, records };
}

function keepAliveAgent(maxSockets = 10): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets });
  agents.push(agent);
  return agent;
}

function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer; agent?: Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: options.agent ?? false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (!response.complete) reject(new Error('truncated response'));
          else resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

function adminRequest(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** After each prefix of `arms`, every arm has served ⌊N·w/100⌋ or ⌈N·w/100⌉ (canary.md §3.1). */
function expectExactShares(arms: readonly Arm[], weights: Weights): void {
  const served: Record<Arm, number> = { canary: 0, baseline: 0, prod: 0 };
  arms.forEach((arm, index) => {
    served[arm] += 1;
    const n = index + 1;
    for (const each of ARMS) {
      const exact = (n * weights[each]) / 100;
      if (served[each] < Math.floor(exact) || served[each] > Math.ceil(exact)) {
        throw new Error(`after ${n} requests ${each} served ${served[each]}, expected ⌊${exact}⌋ or ⌈${exact}⌉`);
      }
    }
  });
}

describe('routing through the proxy', () => {
  it('splits each route key exactly by the weights (stratified smooth WRR)', async () => {
    const weights = { canary: 10, baseline: 10, prod: 80 };
    const { proxy, records } = await startHarness(weights);
    const agent = keepAliveAgent(1);
    const itemArms: Arm[] = [];
    const orderArms: Arm[] = [];
    // Two strata interleaved 1:1; ids vary, so the template (`:id`) is what keeps a stratum together.
    for (let index = 0; index < 200; index += 1) {
      const item = await send(proxy.port, { path: `/api/items/${index}?x=${index}`, agent });
      itemArms.push(item.body.toString() as Arm);
      expect(item.headers['x-envctl-arm']).toBe(item.body.toString());
      const order = await send(proxy.port, { method: 'POST', path: '/api/orders', body: Buffer.from('{}'), agent });
      orderArms.push(order.body.toString() as Arm);
    }
    expectExactShares(itemArms, weights);
    expectExactShares(orderArms, weights);
    expect(itemArms.filter((arm) => arm === 'canary')).toHaveLength(20);
    expect(orderArms.filter((arm) => arm === 'prod')).toHaveLength(160);
    expect(new Set(records.map((record) => record.routeKey))).toEqual(new Set(['GET /api/items/:id', 'POST /api/orders']));

    // A weight change resets the counters; the new split is exact from the first request on.
    const next = { canary: 25, baseline: 25, prod: 50 };
    proxy.setWeights(next);
    const after: Arm[] = [];
    for (let index = 0; index < 100; index += 1) after.push((await send(proxy.port, { path: '/api/items/1', agent })).body.toString() as Arm);
    expectExactShares(after, next);
  });

  it('honours the X-Envctl-Target header and the envctl_target cookie, and marks them as overrides', async () => {
    const { proxy, records } = await startHarness({ canary: 0, baseline: 0, prod: 100 });
    const byHeader = await send(proxy.port, { headers: { 'X-Envctl-Target': 'canary' } });
    const byCookie = await send(proxy.port, { headers: { cookie: 'a=1; envctl_target=baseline' } });
    const headerWins = await send(proxy.port, { headers: { 'x-envctl-target': 'Canary', cookie: 'envctl_target=baseline' } });
    const invalid = await send(proxy.port, { headers: { 'x-envctl-target': 'staging' } });
    expect([byHeader, byCookie, headerWins, invalid].map((reply) => reply.body.toString())).toEqual(['canary', 'baseline', 'canary', 'prod']);
    expect(records.map((record) => [record.arm, record.override])).toEqual([
      ['canary', true],
      ['baseline', true],
      ['canary', true],
      ['prod', false],
    ]);
  });

  it('streams 5 MiB request and response bodies through intact, without buffering them', async () => {
    let releaseDownload: () => void = () => undefined;
    const downloadReleased = new Promise<void>((resolve) => (releaseDownload = resolve));
    let uploadHead: () => void = () => undefined;
    const uploadHeadArrived = new Promise<void>((resolve) => (uploadHead = resolve));
    const download = randomBytes(5 * 1024 * 1024);
    const { proxy, backends } = await startHarness({ canary: 0, baseline: 0, prod: 100 }, (request, response) => {
      if (request.url === '/upload') {
        const hash = createHash('sha256');
        let size = 0;
        request.on('data', (chunk: Buffer) => {
          if (size === 0) uploadHead();
          size += chunk.length;
          hash.update(chunk);
        });
        request.on('end', () => response.end(JSON.stringify({ size, sha256: hash.digest('hex') })));
        return;
      }
      // Download: the first 64 KiB, then the rest only once the client has seen them. A proxy that
      // buffered whole responses would deadlock here.
      request.resume();
      response.writeHead(200, { 'content-length': download.length });
      response.write(download.subarray(0, 65_536));
      void downloadReleased.then(() => response.end(download.subarray(65_536)));
    });

    const upload = randomBytes(5 * 1024 * 1024);
    const uploaded = await new Promise<Reply>((resolve, reject) => {
      // Chunked upload: the first 64 KiB, then the rest once the backend has seen the start.
      const request = httpRequest({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/upload', agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      request.on('error', reject);
      request.write(upload.subarray(0, 65_536));
      void uploadHeadArrived.then(() => request.end(upload.subarray(65_536)));
    });
    expect(uploaded.status).toBe(200);
    expect(JSON.parse(uploaded.body.toString())).toEqual({ size: upload.length, sha256: sha256(upload) });
    expect(backends.prod.seen[0]?.headers['transfer-encoding']).toBe('chunked');

    const downloaded = await new Promise<Buffer>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/download', agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          releaseDownload();
        });
        response.on('end', () => (response.complete ? resolve(Buffer.concat(chunks)) : reject(new Error('truncated'))));
      });
      request.on('error', reject);
      request.end();
    });
    expect(downloaded.length).toBe(download.length);
    expect(sha256(downloaded)).toBe(sha256(download));
  });

  it('passes a WebSocket upgrade through and echoes frames both ways', async () => {
    const { proxy, backends, records } = await startHarness({ canary: 100, baseline: 0, prod: 0 });
    for (const backend of ARMS.map((arm) => backends[arm])) backend.server.on('upgrade', acceptEchoWebSocket(backend.arm));

    const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`);
    const messages: string[] = [];
    socket.addEventListener('message', (event) => messages.push(String(event.data)));
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', () => reject(new Error('websocket failed to open')));
    });
    for (const text of ['hello', 'through', 'the proxy']) socket.send(text);
    await eventually(() => messages.length === 4);
    expect(messages).toEqual(['arm canary', 'hello', 'through', 'the proxy']);
    socket.close();
    await eventually(() => records.length === 1);
    expect(records[0]).toMatchObject({ arm: 'canary', status: 101, upstreamError: 'none', routeKey: 'GET /ws' });
    expect(proxy.status().tunnels).toBe(0);
  });

  it('changes weights 50 times under 200 keep-alive clients without dropping or truncating a response', async () => {
    const body = Buffer.alloc(4096, 'x');
    const { proxy, records } = await startHarness({ canary: 10, baseline: 10, prod: 80 }, (request, response, arm) => {
      request.resume();
      // Each response is in flight while weights change, and takes a moment to arrive in pieces.
      setTimeout(() => {
        response.writeHead(200, { 'content-length': body.length + arm.length });
        response.write(arm);
        setTimeout(() => response.end(body), 5);
      }, 40);
    });
    const agent = keepAliveAgent(200);
    const clients = 200;
    let running = true;
    let completed = 0;
    const failures: string[] = [];
    const client = async (): Promise<void> => {
      while (running) {
        try {
          const reply = await send(proxy.port, { path: '/work', agent });
          const arm = reply.headers['x-envctl-arm'] as string;
          if (reply.status !== 200 || !reply.body.equals(Buffer.concat([Buffer.from(arm), body]))) failures.push(`status ${reply.status}, ${reply.body.length} bytes`);
          completed += 1;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const loops = Array.from({ length: clients }, () => client());
    const splits: Weights[] = [
      { canary: 10, baseline: 10, prod: 80 },
      { canary: 25, baseline: 25, prod: 50 },
      { canary: 50, baseline: 50, prod: 0 },
      { canary: 0, baseline: 0, prod: 100 },
      { canary: 100, baseline: 0, prod: 0 },
    ];
    for (let change = 0; change < 50; change += 1) {
      await sleep(40);
      proxy.setWeights(splits[change % splits.length]!);
    }
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThan(2000);
    // A record is written when the response has been handed to the kernel, which can be a moment
    // after the client has read it.
    await eventually(() => records.length === completed);
    expect(records.filter((record) => record.status !== 200 || record.upstreamError !== 'none')).toEqual([]);
    expect(proxy.status().inFlight).toBe(0);
    console.info(`weight changes under load: ${completed} responses from ${clients} clients, 50 weight changes, 0 failures`);
  });

  it('serves the admin API on a 0600 unix socket: status, valid and invalid weights', async () => {
    const socketPath = join(dir, 'admin.sock');
    const { proxy } = await startHarness({ canary: 10, baseline: 10, prod: 80 }, answerWithArm, { adminSocketPath: socketPath, step: 1 });
    expect(proxy.adminSocketPath).toBe(socketPath);
    const mode = (await stat(socketPath)).mode;
    expect((mode & 0o777).toString(8)).toBe('600');

    expect(await adminRequest(socketPath, 'GET', '/healthz')).toEqual({ status: 200, json: { ok: true } });
    // The first pick of 10/10/80 is prod (the largest counter).
    await send(proxy.port);
    const status = await adminRequest(socketPath, 'GET', '/status');
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({
      weights: { canary: 10, baseline: 10, prod: 80 },
      step: 1,
      inFlight: 0,
      draining: false,
      metrics: { total: { canary: { requests: 0 }, prod: { requests: 1 } } },
    });

    const valid = await adminRequest(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 25, baseline: 25, prod: 50 }));
    expect(valid).toEqual({ status: 200, json: { weights: { canary: 25, baseline: 25, prod: 50 }, step: 1, appliedNs: expect.stringMatching(/^\d+$/) } });
    expect(proxy.weights()).toEqual({ canary: 25, baseline: 25, prod: 50 });

    const invalid: [string, RegExp][] = [
      [JSON.stringify({ canary: 60, baseline: 60, prod: -20 }), /prod must be an integer percentage ≥ 0/],
      [JSON.stringify({ canary: 10, baseline: 10, prod: 70 }), /must sum to 100, got 90/],
      [JSON.stringify({ canary: 10.5, baseline: 10, prod: 79.5 }), /canary must be an integer/],
      [JSON.stringify({ canary: 10, baseline: 10, prod: 80, staging: 0 }), /unknown arm "staging"/],
      [JSON.stringify({ canary: 10, baseline: 10 }), /prod must be an integer/],
      [JSON.stringify([10, 10, 80]), /must be a JSON object/],
      ['{canary: 10', /not JSON/],
    ];
    for (const [body, reason] of invalid) {
      const reply = await adminRequest(socketPath, 'PUT', '/weights', body);
      expect(reply.status, body).toBe(400);
      expect((reply.json as { error: string }).error).toMatch(reason);
    }
    expect(proxy.weights()).toEqual({ canary: 25, baseline: 25, prod: 50 });
    expect((await adminRequest(socketPath, 'PUT', '/weights', 'x'.repeat(10_000))).status).toBe(413);
    expect((await adminRequest(socketPath, 'POST', '/status')).status).toBe(405);
    expect((await adminRequest(socketPath, 'GET', '/nope')).status).toBe(404);

    // The data port knows nothing of the admin API: /status there is just proxied.
    expect((await send(proxy.port, { path: '/status' })).body.toString()).toMatch(/^(canary|baseline|prod)$/);
  });

  it('records every request as sent and aggregates the same figures per arm', async () => {
    const { proxy, records } = await startHarness({ canary: 50, baseline: 50, prod: 0 }, (request, response, arm) => {
      request.resume();
      request.on('end', () => {
        const status = request.url === '/missing' ? 404 : request.url === '/broken' ? 503 : 200;
        response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(`${arm}:${request.url}`);
      });
    }, { step: 2 });
    const agent = keepAliveAgent(1);
    const sent: { method: string; path: string; reply: Reply; override: boolean }[] = [];
    const plan: { method: string; path: string; headers?: Record<string, string> }[] = [
      ...Array.from({ length: 20 }, (_, index) => ({ method: 'GET', path: `/items/${index}` })),
      ...Array.from({ length: 6 }, () => ({ method: 'GET', path: '/missing' })),
      ...Array.from({ length: 4 }, () => ({ method: 'POST', path: '/broken' })),
      { method: 'HEAD', path: '/items/1' },
      { method: 'GET', path: '/items/2', headers: { 'x-envctl-target': 'prod' } },
    ];
    for (const { method, path, headers } of plan) {
      const reply = await send(proxy.port, { method, path, headers, agent });
      sent.push({ method, path, reply, override: headers !== undefined });
    }
    await eventually(() => records.length === sent.length);
    records.forEach((record, index) => {
      const { method, path, reply, override } = sent[index]!;
      expect(record).toMatchObject({
        seq: index + 1,
        step: 2,
        arm: reply.headers['x-envctl-arm'],
        method,
        status: reply.status,
        upstreamError: 'none',
        bytesOut: reply.body.length,
        override,
        mirrored: false,
      });
      expect(record.routeKey).toBe(`${method} ${path.replace(/\/\d+$/, '/:id')}`);
      expect(record.ttfbUs).toBeGreaterThan(0);
      expect(record.totalUs).toBeGreaterThanOrEqual(record.ttfbUs);
      expect(BigInt(record.tMonoNs)).toBeGreaterThan(0n);
    });
    const { metrics } = proxy.status();
    for (const arm of ARMS) {
      const mine = records.filter((record) => record.arm === arm);
      const bad = mine.filter((record) => record.status >= 500);
      expect(metrics.total[arm]).toMatchObject({
        requests: mine.length,
        bad: bad.length,
        status4xx: mine.filter((record) => record.status >= 400 && record.status < 500).length,
        overrides: mine.filter((record) => record.override).length,
      });
      expect(metrics.total[arm].latencyUs.count).toBe(mine.length - bad.length);
      const slowest = Math.max(0, ...mine.filter((record) => record.status < 500).map((record) => record.totalUs));
      // 2 significant digits: within 1%.
      expect(Math.abs(metrics.total[arm].latencyUs.max - slowest)).toBeLessThanOrEqual(Math.ceil(slowest * 0.01));
    }
    expect(metrics.total.prod.requests).toBe(1);
    expect(metrics.steps.map((entry) => entry.step)).toEqual([2]);
    expect(metrics.total.canary.bad + metrics.total.baseline.bad).toBe(4);
  });

  it('drains on close: in-flight requests finish, new connections are refused, a stuck stream is cut at the deadline', async () => {
    const { proxy } = await startHarness(
      { canary: 0, baseline: 0, prod: 100 },
      (request, response) => {
        request.resume();
        if (request.url === '/stream') {
          // An idle event stream that never ends on its own.
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write('data: hello\n\n');
          return;
        }
        setTimeout(() => response.end('done'), 300);
      },
      { drainTimeout: 2500 },
    );
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/stream', agent: false }, resolve).on('error', reject).end();
    });
    stream.on('error', () => undefined);
    stream.resume();
    const slow = Array.from({ length: 5 }, () => send(proxy.port, { path: '/slow' }));
    await sleep(50);
    let drained = false;
    const closed = proxy.close().then(() => (drained = true));
    let streamCut = false;
    stream.on('close', () => (streamCut = true));
    await sleep(20);
    await expect(send(proxy.port)).rejects.toThrow(/ECONNREFUSED/);
    const replies = await Promise.all(slow);
    expect(replies.map((reply) => [reply.status, reply.body.toString()])).toEqual(Array.from({ length: 5 }, () => [200, 'done']));
    // The slow requests are done (~300 ms), the deadline (2.5 s) is not: the stream is still open and close() still waiting.
    expect([drained, streamCut]).toEqual([false, false]);
    // Without the deadline close() never returns: the test's timeout is the ceiling.
    await closed;
    await vi.waitFor(() => expect(streamCut).toBe(true), { timeout: 10_000 });
    expect(stream.complete).toBe(false);
  }, 20_000);
});

/** A minimal RFC 6455 server: accepts, greets with `arm <name>`, echoes unfragmented text frames. */
function acceptEchoWebSocket(arm: Arm): (request: IncomingMessage, socket: Duplex) => void {
  return (request, socket) => {
    const key = request.headers['sec-websocket-key'] ?? '';
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(textFrame(`arm ${arm}`));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (buffered.length < 2) return;
        const opcode = buffered[0]! & 0x0f;
        let length = buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffered.length < 4) return;
          length = buffered.readUInt16BE(2);
          offset = 4;
        }
        if (buffered.length < offset + 4 + length) return;
        const mask = buffered.subarray(offset, offset + 4);
        const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length).map((byte, index) => byte ^ mask[index % 4]!));
        buffered = buffered.subarray(offset + 4 + length);
        if (opcode === 0x8) {
          socket.end(Buffer.from([0x88, 0x00]));
          return;
        }
        if (opcode === 0x1) socket.write(textFrame(payload.toString('utf8')));
      }
    });
  };
}

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
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

