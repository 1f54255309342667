// Unit tests: the handler on a real local HTTP server, with an in-memory counter instead of Redis.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { createApp } from '../src/app.js';

const counts = new Map();
let failing = false;
const counter = {
  async increment(key) {
    if (failing) throw new Error('connection refused');
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return counts.get(key);
  },
};
const server = createServer(createApp({ counter, version: '7', log: () => {} }));
let base;
before(async () => {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

test('GET / names the service and its version', async () => {
  const response = await fetch(`${base}/`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-app-version'), '7');
  assert.deepEqual(await response.json(), { service: 'web', version: '7' });
});

test('GET /healthz is ok', async () => {
  const response = await fetch(`${base}/healthz`);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).status, 'ok');
});

test('GET /api/hits counts every call', async () => {
  const first = await (await fetch(`${base}/api/hits`)).json();
  const second = await (await fetch(`${base}/api/hits`)).json();
  assert.equal(second.hits, first.hits + 1);
});

test('GET /api/hits answers 503 when the counter is unavailable', async () => {
  failing = true;
  try {
    const response = await fetch(`${base}/api/hits`);
    assert.equal(response.status, 503);
  } finally {
    failing = false;
  }
});

test('unknown paths are 404 and other methods 405', async () => {
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
});
