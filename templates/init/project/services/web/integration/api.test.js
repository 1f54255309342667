// Integration tests: the running service, with the real Redis behind it. `envctl pipeline` sets
// ENVCTL_URL_WEB to web's address in the fresh integration environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const base = process.env.ENVCTL_URL_WEB;

test('ENVCTL_URL_WEB is set (run through `envctl pipeline`)', () => {
  assert.ok(base, 'ENVCTL_URL_WEB is not set: run `envctl pipeline --to integration`, or set it to a running web');
});

test('the service is healthy', async () => {
  const response = await fetch(`${base}/healthz`);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).status, 'ok');
});

test('hits are counted in Redis', async () => {
  const first = await (await fetch(`${base}/api/hits`)).json();
  const second = await (await fetch(`${base}/api/hits`)).json();
  assert.equal(typeof first.hits, 'number');
  assert.equal(second.hits, first.hits + 1);
});
