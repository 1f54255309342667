// The consume loop with fake Redis and PostgreSQL: outages, retries and shutdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../src/log.js';
import { createWorker } from '../src/loop.js';

const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 172.18.0.2:5432'), { code: 'ECONNREFUSED' });
const job = (n, payload = { input: `job ${n}` }) =>
  JSON.stringify({ id: `3f2504e0-4f89-41d3-9a0c-${String(n).padStart(12, '0')}`, payload });

function setup({ items = [], popFailures = 0, saveFailures = 0, saveError = unreachable } = {}) {
  const list = [...items];
  const saved = [];
  const failed = [];
  const lines = [];
  const calls = { pop: 0, save: 0 };
  let worker;
  const queue = {
    async pop() {
      calls.pop++;
      if (popFailures > 0) {
        popFailures--;
        throw new Error('Socket closed unexpectedly');
      }
      if (list.length === 0) {
        worker.stop(); // drained: end the test run
        return null;
      }
      return list.shift();
    },
    async pushBack(raw) {
      list.unshift(raw);
    },
  };
  const store = {
    async saveResult(parsed, result, name) {
      calls.save++;
      if (saveFailures > 0) {
        saveFailures--;
        throw saveError();
      }
      saved.push({ id: parsed.id, result, name });
    },
    async saveFailure(parsed, message) {
      failed.push({ id: parsed.id, message });
    },
  };
  const log = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
  const config = { queue: 'demo:jobs', blockSeconds: 1, workerName: 'w1' };
  // A sleep that yields to the event loop (so a test can act between retries) without waiting.
  const sleep = () => new Promise((resolve) => setImmediate(resolve));
  worker = createWorker({ queue, store, log, config, sleep });
  return { worker, list, saved, failed, lines, calls };
}

test('jobs are taken in order, processed and saved', async () => {
  const t = setup({ items: [job(1), job(2)] });
  await t.worker.run();
  assert.deepEqual(
    t.saved.map((entry) => entry.result.uppercase),
    ['JOB 1', 'JOB 2'],
  );
  assert.equal(t.saved[0].name, 'w1');
  assert.equal(t.worker.stats.done, 2);
  const done = t.lines.filter((line) => line.msg === 'job done');
  assert.equal(done.length, 2);
  assert.equal(typeof done[0].durationMs, 'number');
});

test('a Redis outage is retried with one warning, then consuming goes on', async () => {
  const t = setup({ items: [job(1)], popFailures: 3 });
  await t.worker.run();
  assert.equal(t.saved.length, 1);
  assert.equal(t.lines.filter((line) => line.level === 'warn').length, 1);
  assert.ok(t.lines.some((line) => line.msg === 'redis reachable again, consuming'));
});

test('a PostgreSQL outage keeps the job and retries saving it', async () => {
  const t = setup({ items: [job(1)], saveFailures: 4 });
  await t.worker.run();
  assert.equal(t.calls.save, 5);
  assert.equal(t.saved.length, 1);
  assert.ok(t.lines.some((line) => line.msg === 'postgres reachable again, job saved'));
});

test('stopping during a PostgreSQL outage puts the job back on the queue', async () => {
  const t = setup({ items: [job(1)], saveFailures: 1000 });
  const run = t.worker.run();
  while (t.calls.save < 3) await new Promise((resolve) => setImmediate(resolve));
  await t.worker.stop();
  await run;
  assert.equal(t.saved.length, 0);
  assert.deepEqual(t.list, [job(1)]);
  assert.equal(t.worker.stats.requeued, 1);
});

test('invalid jobs are logged at level error and marked failed when they have an id', async () => {
  const t = setup({ items: ['{nope', job(7, { input: 42 }), job(8)] });
  await t.worker.run();
  assert.equal(t.lines.filter((line) => line.level === 'error' && line.msg === 'invalid job').length, 2);
  assert.equal(t.failed.length, 1);
  assert.match(t.failed[0].message, /input/);
  assert.equal(t.saved.length, 1);
});

test('a save error that is not an outage fails the job instead of retrying', async () => {
  const t = setup({ items: [job(1)], saveFailures: 1, saveError: () => Object.assign(new Error('value too long'), { code: '22001' }) });
  await t.worker.run();
  assert.equal(t.calls.save, 1);
  assert.equal(t.failed.length, 1);
  assert.equal(t.worker.stats.failed, 1);
});
