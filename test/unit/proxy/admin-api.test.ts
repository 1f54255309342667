/**
 * The admin API the release controller reads the proxy through: the records ring (`GET /records`,
 * 410 when a reader fell behind), where the records stand (`nowNs`, `watermarkNs`, `lastSeq`),
 * weights and step applied together (`PUT /weights`), and the typed client over the unix socket.
 * Loopback only: in-process backends on 127.0.0.1, the proxy in this process, a temp socket.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvironmentError, UsageError } from '../../../src/errors.js';
import { createAdminClient } from '../../../src/proxy/admin-client.js';
import { parseRecordsQuery } from '../../../src/proxy/admin.js';
import type { RequestRecord } from '../../../src/proxy/types.js';
import { useProxyTestResources } from '../../support/proxy-harness.js';

const { servers, dir: tempDir, startHarness } = useProxyTestResources('envctl-proxy-admin-');

async function listen(server: Server, target: number | string): Promise<Server> {
  servers.push(server);
  if (typeof target === 'string') server.listen(target);
  else server.listen(target, '127.0.0.1');
  await once(server, 'listening');
  return server;
}


async function get(port: number, path = '/'): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return response.text();
}

function admin(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, method, path }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('GET /records', () => {
  it('serves the records after a seq, in seq order, with where the records stand', async () => {
    const { proxy, records, socketPath } = await startHarness({ canary: 10, baseline: 10, prod: 80 });
    for (let i = 0; i < 12; i += 1) await get(proxy.port, `/items/${i}`);
    await eventually(() => records.length === 12);

    const all = await admin(socketPath, 'GET', '/records?after=0');
    expect(all.status).toBe(200);
    expect(all.json.records).toEqual(records);
    expect(all.json.lastSeq).toBe(12);
    // Nothing in flight: the watermark is now.
    expect(all.json.watermarkNs).toBe(all.json.nowNs);
    expect(BigInt(all.json.nowNs as string)).toBeGreaterThan(BigInt(records.at(-1)!.tMonoNs));

    const page = await admin(socketPath, 'GET', '/records?after=4&limit=3');
    expect((page.json.records as RequestRecord[]).map((entry) => entry.seq)).toEqual([5, 6, 7]);
    expect(page.json.lastSeq).toBe(12);
    expect((await admin(socketPath, 'GET', '/records?after=12')).json).toMatchObject({ records: [], lastSeq: 12 });

    const status = await admin(socketPath, 'GET', '/status');
    expect(status.json).toMatchObject({ lastSeq: 12 });
    expect(status.json.watermarkNs).toBe(status.json.nowNs);
  });

  it('answers 410 with the oldest seq it holds once the ring has dropped what was asked for', async () => {
    const { proxy, records, socketPath } = await startHarness({ canary: 0, baseline: 0, prod: 100 }, { recordRing: 5 });
    for (let i = 0; i < 8; i += 1) await get(proxy.port);
    await eventually(() => records.length === 8);
    const gone = await admin(socketPath, 'GET', '/records?after=2');
    expect(gone.status).toBe(410);
    expect(gone.json.oldestSeq).toBe(4);
    expect(gone.json.error).toMatch(/no longer in memory.*requests\.jsonl\.gz/);
    const held = await admin(socketPath, 'GET', '/records?after=3');
    expect((held.json.records as RequestRecord[]).map((entry) => entry.seq)).toEqual([4, 5, 6, 7, 8]);
  });

  it.each([
    ['', /after is required/],
    ['after=-1', /after must be an integer ≥ 0, got "-1"/],
    ['after=1.5', /after must be an integer/],
    ['after=abc', /after must be an integer/],
    ['after=', /after must be an integer/],
    ['after=0&limit=0', /limit must be an integer from 1 to 20000, got "0"/],
    ['after=0&limit=20001', /limit must be an integer from 1 to 20000/],
    ['after=0&limit=x', /limit must be an integer/],
    ['after=0&after=1', /after given more than once/],
    ['after=0&since=1', /unknown query parameter "since"/],
  ])('refuses the query %j, naming the parameter', async (query, reason) => {
    expect(parseRecordsQuery(query)).toEqual({ error: expect.stringMatching(reason) });
  });

  it('parses valid queries, with the default and largest limits', () => {
    expect(parseRecordsQuery('after=0')).toEqual({ after: 0, limit: 5000 });
    expect(parseRecordsQuery('after=41&limit=20000')).toEqual({ after: 41, limit: 20_000 });
  });

  it('answers a bad query over the socket with 400, and other methods with 405', async () => {
    const { socketPath } = await startHarness({ canary: 10, baseline: 10, prod: 80 });
    const bad = await admin(socketPath, 'GET', '/records?after=x');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/after/);
    expect((await admin(socketPath, 'POST', '/records?after=0')).status).toBe(405);
  });
});

describe('the watermark', () => {
  it('stays at the arrival of the oldest request in flight while later ones finish, then moves to now', async () => {
    let releaseSlow: (() => void) | undefined;
    const { proxy, records, socketPath } = await startHarness({ canary: 0, baseline: 0, prod: 100 }, {}, (request, response, arm) => {
      request.resume();
      if (request.url === '/slow') releaseSlow = () => response.end('slow');
      else response.end(arm);
    });
    const slow = get(proxy.port, '/slow');
    await eventually(() => releaseSlow !== undefined);
    for (let i = 0; i < 3; i += 1) await get(proxy.port, '/fast');
    await eventually(() => records.length === 3);

    const during = await admin(socketPath, 'GET', '/status');
    expect(during.json).toMatchObject({ inFlight: 1, lastSeq: 3 });
    const watermark = BigInt(during.json.watermarkNs as string);
    expect(watermark).toBeLessThan(BigInt(during.json.nowNs as string));
    // The fast requests arrived after the slow one: their records exist, yet the watermark may not
    // pass them, because the slow one (arrived earlier) has no record yet.
    for (const record of records) expect(BigInt(record.tMonoNs)).toBeGreaterThan(watermark);
    const page = await admin(socketPath, 'GET', '/records?after=0');
    expect(page.json.watermarkNs).toBe(during.json.watermarkNs);

    releaseSlow!();
    expect(await slow).toBe('slow');
    await eventually(() => records.length === 4);
    const slowRecord = records[3]!;
    // Finish order: the slow request's record comes last, and its arrival was the watermark.
    expect(slowRecord).toMatchObject({ seq: 4, routeKey: 'GET /slow' });
    expect(BigInt(slowRecord.tMonoNs)).toBe(watermark);
    const after = await admin(socketPath, 'GET', '/status');
    expect(after.json).toMatchObject({ inFlight: 0, lastSeq: 4 });
    expect(after.json.watermarkNs).toBe(after.json.nowNs);
  });
});

describe('PUT /weights with a step', () => {
  it('applies weights and step together; later requests carry the step, one in flight keeps its own', async () => {
    let releaseSlow: (() => void) | undefined;
    const { proxy, records, socketPath } = await startHarness({ canary: 10, baseline: 10, prod: 80 }, { step: 1 }, (request, response, arm) => {
      request.resume();
      if (request.url === '/slow') releaseSlow = () => response.end(arm);
      else response.end(arm);
    });
    const slow = get(proxy.port, '/slow');
    await eventually(() => releaseSlow !== undefined);
    await get(proxy.port, '/before');

    const applied = await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 25, baseline: 25, prod: 50, step: 2 }));
    expect(applied).toEqual({ status: 200, json: { weights: { canary: 25, baseline: 25, prod: 50 }, step: 2, appliedNs: expect.stringMatching(/^\d+$/) } });
    const appliedNs = BigInt(applied.json.appliedNs as string);
    for (let i = 0; i < 4; i += 1) await get(proxy.port, '/after');
    releaseSlow!();
    await slow;
    await eventually(() => records.length === 6);

    const byRoute = (route: string) => records.filter((record) => record.routeKey === route);
    // Step, like the arm, is fixed at arrival: the slow request arrived in step 1 and finished in step 2.
    expect(byRoute('GET /slow').map((record) => record.step)).toEqual([1]);
    expect(byRoute('GET /before').map((record) => record.step)).toEqual([1]);
    expect(byRoute('GET /after').map((record) => record.step)).toEqual([2, 2, 2, 2]);
    for (const record of records) {
      if (record.step === 1) expect(BigInt(record.tMonoNs)).toBeLessThan(appliedNs);
      else expect(BigInt(record.tMonoNs)).toBeGreaterThan(appliedNs);
    }
    expect(proxy.status()).toMatchObject({ step: 2, weights: { canary: 25, baseline: 25, prod: 50 } });

    // Without a step, the step stays.
    const weightsOnly = await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 0, baseline: 0, prod: 100 }));
    expect(weightsOnly.json).toMatchObject({ weights: { canary: 0, baseline: 0, prod: 100 }, step: 2 });
  });

  it.each([
    [{ canary: 10, baseline: 10, prod: 80, step: -1 }, /invalid step: must be an integer ≥ 0, got -1/],
    [{ canary: 10, baseline: 10, prod: 80, step: 1.5 }, /invalid step/],
    [{ canary: 10, baseline: 10, prod: 80, step: '2' }, /invalid step: .*"2"/],
    [{ canary: 10, baseline: 10, prod: 80, step: null }, /invalid step/],
    [{ canary: 10, baseline: 10, prod: 70, step: 3 }, /must sum to 100/],
  ])('refuses %j with 400 and changes nothing', async (body, reason) => {
    const { proxy, socketPath } = await startHarness({ canary: 10, baseline: 10, prod: 80 }, { step: 1 });
    const reply = await admin(socketPath, 'PUT', '/weights', JSON.stringify(body));
    expect(reply.status).toBe(400);
    expect(reply.json.error).toMatch(reason);
    expect(proxy.status()).toMatchObject({ step: 1, weights: { canary: 10, baseline: 10, prod: 80 } });
  });
});

describe('the admin client', () => {
  it('reads status and records, sets weights with a step, and reports a dropped range as gone', async () => {
    const { proxy, records, socketPath } = await startHarness({ canary: 50, baseline: 50, prod: 0 }, { recordRing: 4 });
    const client = createAdminClient(socketPath);
    expect(await client.healthz()).toBe(true);
    for (let i = 0; i < 6; i += 1) await get(proxy.port);
    await eventually(() => records.length === 6);

    const status = await client.status();
    expect(status).toMatchObject({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 0, inFlight: 0, lastSeq: 6 });
    expect(status.metrics.total.canary.requests + status.metrics.total.baseline.requests).toBe(6);
    expect(await client.records(0)).toEqual({ gone: true, oldestSeq: 3 });
    const page = await client.records(3, 2);
    expect(page).toMatchObject({ records: records.slice(3, 5), lastSeq: 6 });

    const applied = await client.setWeights({ canary: 10, baseline: 10, prod: 80 }, 1);
    expect(applied).toMatchObject({ weights: { canary: 10, baseline: 10, prod: 80 }, step: 1 });
    expect(BigInt(applied.appliedNs)).toBeGreaterThan(BigInt(status.nowNs));
    await expect(client.setWeights({ canary: 60, baseline: 60, prod: 0 })).rejects.toThrow(UsageError);
    await expect(client.setWeights({ canary: 60, baseline: 60, prod: 0 })).rejects.toThrow(/rejected .*must sum to 100/);
    await expect(client.records(-1)).rejects.toThrow(/after must be an integer/);
  });

  it('says the socket does not answer when nothing listens, and healthz is false', async () => {
    const client = createAdminClient(join(tempDir(), 'missing.sock'));
    expect(await client.healthz()).toBe(false);
    const error = await client.status().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error).toMatchObject({ code: 'PROXY_ADMIN_UNREACHABLE', exitCode: 3 });
    expect((error as Error).message).toMatch(/admin socket .*missing\.sock does not answer \(GET \/status: ENOENT\)/);
    expect((error as EnvironmentError).hint).toMatch(/docker logs/);
  });

  // Without the client's timeout both calls hang: the test's own timeout is the ceiling.
  it('gives up after its timeout on a socket that never answers', { timeout: 15_000 }, async () => {
    const socketPath = join(tempDir(), 'silent.sock');
    await listen(createServer(() => undefined), socketPath);
    const client = createAdminClient(socketPath, { timeoutMs: 200 });
    await expect(client.status()).rejects.toThrow(/does not answer \(GET \/status: no answer within 200 ms\)/);
    expect(await client.healthz()).toBe(false);
  });

  it('refuses an answer that is not what the API sends', async () => {
    const socketPath = join(tempDir(), 'odd.sock');
    await listen(
      createServer((request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end(request.url === '/status' ? JSON.stringify({ weights: { canary: 10 } }) : 'not json');
      }),
      socketPath,
    );
    const client = createAdminClient(socketPath);
    await expect(client.status()).rejects.toMatchObject({ code: 'PROXY_ADMIN_BAD_RESPONSE' });
    await expect(client.records(0)).rejects.toMatchObject({ code: 'PROXY_ADMIN_UNREACHABLE', message: expect.stringMatching(/not JSON/) });
  });
});
