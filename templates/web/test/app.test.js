// The HTTP API against in-memory fakes of PostgreSQL and Redis, on an ephemeral loopback port.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Unavailable, createApp, matchRoute } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';

function fakeDb() {
  const state = { items: [], jobs: new Map(), down: false, nextId: 1 };
  const guard = () => {
    if (state.down) throw new Unavailable('postgres', new Error('connect ECONNREFUSED'));
  };
  return {
    state,
    async health() {
      guard();
    },
    async listItems(limit) {
      guard();
      return state.items.slice(-limit).reverse();
    },
    async createItem(name) {
      guard();
      const item = { id: state.nextId++, name, createdAt: new Date('2030-01-01T00:00:00Z') };
      state.items.push(item);
      return item;
    },
    async createJob(id, payload) {
      guard();
      const job = { id, status: 'queued', payload, result: null, error: null };
      state.jobs.set(id, job);
      return job;
    },
    async failJob(id, message) {
      Object.assign(state.jobs.get(id), { status: 'failed', error: message });
    },
    async getJob(id) {
      guard();
      return state.jobs.get(id) ?? null;
    },
  };
}

function fakeQueue() {
  const state = { pushed: [], down: false };
  return {
    state,
    async push(job) {
      if (state.down) throw new Unavailable('redis', new Error('not connected'));
      state.pushed.push(job);
    },
    async health() {
      if (state.down) throw new Error('not connected');
    },
  };
}

describe('web API', () => {
  let server;
  let base;
  let db;
  let queue;
  const lines = [];

  async function start(env) {
    db = fakeDb();
    queue = fakeQueue();
    const config = loadConfig({ APP_VERSION: '9.9.9-test', LOG_LEVEL: 'debug', ...env });
    const log = createLogger({ level: config.logLevel, write: (line) => lines.push(JSON.parse(line)) });
    server = createServer(createApp({ config, db, queue, log }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${server.address().port}`;
  }
  async function stop() {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  const call = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };

  before(() => start({}));
  after(() => stop());
  beforeEach(() => {
    lines.length = 0;
    db.state.down = false;
    queue.state.down = false;
  });

  test('GET /healthz is 200 when both dependencies answer, with the version header and body', async () => {
    const { status, headers, body } = await call('GET', '/healthz');
    assert.equal(status, 200);
    assert.equal(headers.get('x-app-version'), '9.9.9-test');
    assert.equal(body.status, 'ok');
    assert.equal(body.version, '9.9.9-test');
    assert.equal(body.checks.postgres.ok, true);
    assert.equal(body.checks.redis.ok, true);
  });

  test('GET /healthz is 503 and names the failed dependency', async () => {
    queue.state.down = true;
    let response = await call('GET', '/healthz');
    assert.equal(response.status, 503);
    assert.deepEqual(response.body.failed, ['redis']);
    assert.match(response.body.checks.redis.error, /not connected/);
    await call('GET', '/healthz');
    db.state.down = true;
    response = await call('GET', '/healthz');
    assert.deepEqual(response.body.failed.sort(), ['postgres', 'redis']);
    // one warning per change of state, not per poll
    assert.equal(lines.filter((line) => line.msg === 'health check failed').length, 2);
    db.state.down = false;
    queue.state.down = false;
    assert.equal((await call('GET', '/healthz')).status, 200);
    assert.equal(lines.filter((line) => line.msg === 'healthy again').length, 1);
  });

  test('POST /api/items creates an item (201) and GET /api/items lists it', async () => {
    const created = await call('POST', '/api/items', { name: '  first ' });
    assert.equal(created.status, 201);
    assert.equal(created.body.item.name, 'first');
    assert.equal(created.headers.get('location'), `/api/items/${created.body.item.id}`);
    assert.equal(created.body.version, '9.9.9-test');
    await call('POST', '/api/items', { name: 'second' });
    const listed = await call('GET', '/api/items?limit=10');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.items.map((item) => item.name),
      ['second', 'first'],
    );
    assert.equal(listed.body.checkout, 'classic');
  });

  test('bad input is a 400 with a message, an oversized body a 413', async () => {
    for (const body of ['{nope', '[]', { name: '' }, { name: 7 }, {}]) {
      const response = await call('POST', '/api/items', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(typeof response.body.error, 'string');
      assert.equal(response.headers.get('x-app-version'), '9.9.9-test');
    }
    assert.equal((await call('GET', '/api/items?limit=0')).status, 400);
    assert.equal((await call('POST', '/api/items', { name: 'x'.repeat(70_000) })).status, 413);
  });

  test('POST /api/jobs queues a job (202) and GET /api/jobs/:id shows it', async () => {
    const created = await call('POST', '/api/jobs', { input: 'hello world' });
    assert.equal(created.status, 202);
    const { id } = created.body.job;
    assert.equal(created.body.job.status, 'queued');
    assert.equal(queue.state.pushed.at(-1).id, id);
    assert.deepEqual(queue.state.pushed.at(-1).payload, { input: 'hello world', delayMs: 0 });
    const shown = await call('GET', `/api/jobs/${id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.job.id, id);
    assert.equal((await call('GET', '/api/jobs/3f2504e0-4f89-41d3-9a0c-0305e82c3301')).status, 404);
    assert.equal((await call('GET', '/api/jobs/not-a-uuid')).status, 400);
    assert.equal((await call('POST', '/api/jobs', { input: '' })).status, 400);
  });

  test('a job that cannot be queued is a 503 and is marked failed', async () => {
    queue.state.down = true;
    const response = await call('POST', '/api/jobs', { input: 'x' });
    assert.equal(response.status, 503);
    assert.deepEqual(response.body.failed, ['redis']);
    assert.equal(response.headers.get('retry-after'), '1');
    const [job] = [...db.state.jobs.values()].slice(-1);
    assert.equal(job.status, 'failed');
  });

  test('a database outage is a 503 logged at level error', async () => {
    db.state.down = true;
    const response = await call('GET', '/api/items');
    assert.equal(response.status, 503);
    assert.deepEqual(response.body.failed, ['postgres']);
    assert.ok(lines.some((line) => line.level === 'error' && line.msg === 'dependency unavailable'));
  });

  test('unknown routes are 404, wrong methods 405 with Allow', async () => {
    const missing = await call('GET', '/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-app-version'), '9.9.9-test');
    const wrong = await call('DELETE', '/api/items');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
  });

  test('every request is logged as one JSON line with method, path, status and durationMs', async () => {
    await call('GET', '/api/version');
    const line = lines.find((entry) => entry.msg === 'request' && entry.path === '/api/version');
    assert.ok(line, JSON.stringify(lines));
    assert.equal(line.level, 'info');
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
    assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
    await call('GET', '/healthz');
    assert.equal(lines.find((entry) => entry.path === '/healthz').level, 'debug');
  });

  test('GET /api/version reports version, features and checkout', async () => {
    const { body } = await call('GET', '/api/version');
    assert.equal(body.version, '9.9.9-test');
    assert.equal(body.checkout, 'classic');
    assert.deepEqual(body.features, {});
  });

  test('FEATURE_NEW_CHECKOUT=true switches the checkout field to "new"', async () => {
    await stop();
    await start({ FEATURE_NEW_CHECKOUT: 'true' });
    const { body } = await call('GET', '/api/version');
    assert.equal(body.checkout, 'new');
    assert.deepEqual(body.features, { newCheckout: true });
    assert.equal((await call('GET', '/api/items')).body.checkout, 'new');
  });

  test('WEB_VERSION is the x-demo-version header and the version in every answer', async () => {
    await stop();
    await start({ APP_VERSION: '', WEB_VERSION: '2' });
    for (const path of ['/', '/healthz', '/nope']) {
      const { headers, body } = await call('GET', path);
      assert.equal(headers.get('x-demo-version'), '2', path);
      assert.equal(body.version, '2', path);
    }
  });

  test('WEB_FAULT=errors answers every 5th request but /healthz 500, with one ERROR log line each', async () => {
    await stop();
    await start({ WEB_FAULT: 'errors' });
    const statuses = [];
    for (let n = 1; n <= 10; n++) {
      assert.equal((await call('GET', '/healthz')).status, 200);
      statuses.push((await call('GET', '/')).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 500, 200, 200, 200, 200, 500]);
    const releasePattern = /\b(ERROR|FATAL|panic|Traceback|Unhandled)\b/; // a release's default logErrorPattern
    const matching = lines.filter((line) => releasePattern.test(JSON.stringify(line)));
    assert.equal(matching.length, 2, JSON.stringify(matching));
    assert.equal(matching[0].msg, 'ERROR injected fault: request 5 fails (WEB_FAULT=errors, WEB_FAULT_RATE=0.2)');
    assert.equal(matching[0].path, '/');
  });

  test('WEB_FAULT=latency delays every request but /healthz', async () => {
    await stop();
    await start({ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '60' });
    const timed = async (path) => {
      const started = performance.now();
      assert.equal((await call('GET', path)).status, 200);
      return performance.now() - started;
    };
    assert.ok((await timed('/')) >= 60);
    assert.ok((await timed('/api/version')) >= 60);
    assert.ok((await timed('/healthz')) < 60);
  });
});

test('matchRoute', () => {
  assert.deepEqual(matchRoute('GET', '/api/jobs/abc'), { name: 'getJob', params: ['abc'] });
  assert.deepEqual(matchRoute('POST', '/api/items'), { name: 'createItem', params: [] });
  assert.deepEqual(matchRoute('PUT', '/api/items'), { status: 405, allow: 'GET, POST' });
  assert.deepEqual(matchRoute('GET', '/api/items/'), { status: 404 });
  assert.deepEqual(matchRoute('HEAD', '/healthz'), { name: 'health', params: [] });
});
