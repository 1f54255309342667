import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidJob, MAX_DELAY_MS, backoff, parseJob, processJob } from '../src/jobs.js';

const ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

test('parseJob reads id, payload and enqueuedAt', () => {
  const job = parseJob(JSON.stringify({ id: ID, payload: { input: 'hi' }, enqueuedAt: '2030-01-01T00:00:00.000Z' }));
  assert.deepEqual(job, { id: ID, payload: { input: 'hi', delayMs: 0 }, enqueuedAt: '2030-01-01T00:00:00.000Z' });
});

test('parseJob rejects malformed jobs, keeping the id when it could be read', () => {
  const invalid = (raw, pattern, id) =>
    assert.throws(() => parseJob(raw), (error) => error instanceof InvalidJob && pattern.test(error.message) && error.id === id);
  invalid('{nope', /not valid JSON/);
  invalid('[1]', /JSON object/);
  invalid(JSON.stringify({ payload: { input: 'x' } }), /UUID/);
  invalid(JSON.stringify({ id: 'abc', payload: { input: 'x' } }), /UUID/);
  invalid(JSON.stringify({ id: ID, payload: { input: 5 } }), /input/, ID);
  invalid(JSON.stringify({ id: ID }), /input/, ID);
  invalid(JSON.stringify({ id: ID, payload: { input: 'x', delayMs: MAX_DELAY_MS + 1 } }), /delayMs/, ID);
});

test('processJob computes length, words, reversed, uppercase and sha256', () => {
  assert.deepEqual(processJob({ input: 'hello world' }), {
    length: 11,
    words: 2,
    reversed: 'dlrow olleh',
    uppercase: 'HELLO WORLD',
    sha256: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9',
  });
  assert.equal(processJob({ input: '   ' }).words, 0);
  assert.equal(processJob({ input: 'añb 😀' }).length, 5);
  assert.equal(processJob({ input: 'añb 😀' }).reversed, '😀 bña');
});

test('backoff doubles up to a cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoff(attempt)), [100, 200, 400, 800, 1600, 2000, 2000]);
  assert.equal(backoff(0, 250, 1000), 250);
  assert.equal(backoff(9, 250, 1000), 1000);
});
