/**
 * The per-route split (`GET /routes`, `envctl proxy routes`): counters per step and route key
 * updated per record, capped like the router's strata, served over the admin socket and read by
 * the typed client. Loopback only: in-process backends, the proxy in this process, a temp socket.
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { withShares } from '../../../src/commands/proxy/routes.js';
import { UsageError } from '../../../src/errors.js';
import { createAdminClient } from '../../../src/proxy/admin-client.js';
import { parseRoutesQuery } from '../../../src/proxy/admin.js';
import { createRouteSplitCounter } from '../../../src/proxy/routing.js';
import type { Arm, RequestRecord } from '../../../src/proxy/types.js';
import { useProxyTestResources } from '../../support/proxy-harness.js';

const record = (routeKey: string, arm: Arm, extra: Partial<Pick<RequestRecord, 'step' | 'override'>> = {}) => ({ routeKey, arm, step: 1, override: false, ...extra });

describe('the route split counter', () => {
  it('counts per route and arm, overrides apart, most records first (ties by key)', () => {
    const counter = createRouteSplitCounter();
    for (const arm of ['canary', 'prod', 'prod', 'baseline'] as const) counter.observe(record('GET /a', arm));
    counter.observe(record('GET /a', 'canary', { override: true }));
    counter.observe(record('GET /c', 'prod'));
    counter.observe(record('GET /b', 'prod'));
    expect(counter.page(1)).toEqual({
      step: 1,
      routes: [
        { routeKey: 'GET /a', arms: { canary: 1, baseline: 1, prod: 2 }, override: 1 },
        { routeKey: 'GET /b', arms: { canary: 0, baseline: 0, prod: 1 }, override: 0 },
        { routeKey: 'GET /c', arms: { canary: 0, baseline: 0, prod: 1 }, override: 0 },
      ],
      otherRoutes: null,
    });
  });

  it('keeps steps apart, and a step without records is empty', () => {
    const counter = createRouteSplitCounter();
    counter.observe(record('GET /a', 'prod', { step: 0 }));
    counter.observe(record('GET /a', 'canary', { step: 1 }));
    expect(counter.page(0).routes).toEqual([{ routeKey: 'GET /a', arms: { canary: 0, baseline: 0, prod: 1 }, override: 0 }]);
    expect(counter.page(1).routes).toEqual([{ routeKey: 'GET /a', arms: { canary: 1, baseline: 0, prod: 0 }, override: 0 }]);
    expect(counter.page(7)).toEqual({ step: 7, routes: [], otherRoutes: null });
  });

  it('gives at most maxRoutes keys per step counters of their own and sums the rest', () => {
    const counter = createRouteSplitCounter({ maxRoutes: 2 });
    for (const key of ['GET /1', 'GET /2', 'GET /3', 'GET /4', 'GET /1']) counter.observe(record(key, 'prod'));
    counter.observe(record('GET /4', 'canary', { override: true }));
    const page = counter.page(1);
    expect(page.routes.map((route) => route.routeKey)).toEqual(['GET /1', 'GET /2']);
    expect(page.otherRoutes).toEqual({ arms: { canary: 0, baseline: 0, prod: 2 }, override: 1 });
    // Another step has its own cap.
    counter.observe(record('GET /9', 'prod', { step: 2 }));
    expect(counter.page(2).routes.map((route) => route.routeKey)).toEqual(['GET /9']);
  });

  it('returns copies: a page does not change when more records come', () => {
    const counter = createRouteSplitCounter();
    counter.observe(record('GET /a', 'prod'));
    const page = counter.page(1);
    counter.observe(record('GET /a', 'prod'));
    expect(page.routes[0]!.arms.prod).toBe(1);
  });

  it('refuses a negative cap', () => {
    expect(() => createRouteSplitCounter({ maxRoutes: -1 })).toThrow(RangeError);
  });
});

describe('shares for display', () => {
  it('are percent of the weighted records, 0.1 precision, null when a route has only overrides', () => {
    const shares = withShares({
      step: 1,
      routes: [
        { routeKey: 'GET /a', arms: { canary: 1, baseline: 1, prod: 1 }, override: 4 },
        { routeKey: 'GET /b', arms: { canary: 0, baseline: 0, prod: 0 }, override: 2 },
      ],
      otherRoutes: { arms: { canary: 1, baseline: 1, prod: 8 }, override: 0 },
    });
    expect(shares.routes[0]).toMatchObject({ requests: 7, share: { canary: 33.3, baseline: 33.3, prod: 33.3 } });
    expect(shares.routes[1]).toMatchObject({ requests: 2, share: null });
    expect(shares.otherRoutes).toMatchObject({ requests: 10, share: { canary: 10, baseline: 10, prod: 80 } });
  });
});

describe('GET /routes', () => {
  it.each([
    ['', { step: undefined }],
    ['step=0', { step: 0 }],
    ['step=12', { step: 12 }],
    ['step=-1', { error: expect.stringMatching(/step must be an integer ≥ 0, got "-1"/) }],
    ['step=x', { error: expect.stringMatching(/step must be an integer/) }],
    ['step=1&step=2', { error: expect.stringMatching(/step given more than once/) }],
    ['after=1', { error: expect.stringMatching(/unknown query parameter "after"/) }],
  ])('parses the query %j', (query, expected) => {
    expect(parseRoutesQuery(query)).toEqual(expected);
  });
});

describe('GET /routes over the admin socket', () => {
  const { startHarness } = useProxyTestResources('envctl-proxy-routes-');


  async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<void> {
    await (await fetch(`http://127.0.0.1:${port}${path}`, { headers })).text();
  }

  async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  function rawGet(socketPath: string, method: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest({ socketPath, method, path }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('shows every route split exactly by the weights, overrides apart, per step', async () => {
    const { proxy, records, socketPath } = await startHarness({ canary: 10, baseline: 10, prod: 80 }, { step: 1 });
    // Interleaved routes: each has its own scheduler, so each gets exactly 10/10/80 of its 20.
    for (let i = 0; i < 20; i += 1) {
      await get(proxy.port, `/api/items/${i}`);
      await get(proxy.port, '/health');
    }
    await get(proxy.port, '/health', { 'X-Envctl-Target': 'canary' });
    await eventually(() => records.length === 41);

    const client = createAdminClient(socketPath);
    const page = await client.routes();
    expect(page).toEqual({
      step: 1,
      routes: [
        { routeKey: 'GET /health', arms: { canary: 2, baseline: 2, prod: 16 }, override: 1 },
        { routeKey: 'GET /api/items/:id', arms: { canary: 2, baseline: 2, prod: 16 }, override: 0 },
      ],
      otherRoutes: null,
    });

    proxy.applyWeights({ canary: 50, baseline: 50, prod: 0 }, 2);
    for (let i = 0; i < 4; i += 1) await get(proxy.port, '/health');
    await eventually(() => records.length === 45);
    expect(await client.routes()).toEqual({ step: 2, routes: [{ routeKey: 'GET /health', arms: { canary: 2, baseline: 2, prod: 0 }, override: 0 }], otherRoutes: null });
    expect((await client.routes(1)).routes).toEqual(page.routes);
    expect(await client.routes(5)).toEqual({ step: 5, routes: [], otherRoutes: null });
  });

  it('answers a bad query with 400 (a UsageError in the client) and other methods with 405', async () => {
    const { socketPath } = await startHarness({ canary: 0, baseline: 0, prod: 100 }, { step: 1 });
    const bad = await rawGet(socketPath, 'GET', '/routes?step=x');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/step/);
    const wrongMethod = await rawGet(socketPath, 'DELETE', '/routes');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json.error).toMatch(/use GET/);
    await expect(createAdminClient(socketPath).routes(-1)).rejects.toBeInstanceOf(UsageError);
  });
});
