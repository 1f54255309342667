import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConnectionError } from '../src/errors.js';
import { BadRequest, MAX_NAME_LENGTH, isUuid, parseJsonObject, parseLimit, validateItem, validateJob } from '../src/validate.js';

const rejects = (fn, pattern, status = 400) =>
  assert.throws(fn, (error) => error instanceof BadRequest && error.status === status && pattern.test(error.message));

test('parseJsonObject accepts objects only', () => {
  assert.deepEqual(parseJsonObject('{"name":"a"}'), { name: 'a' });
  rejects(() => parseJsonObject(''), /JSON object/);
  rejects(() => parseJsonObject('{nope'), /not valid JSON/);
  rejects(() => parseJsonObject('[1]'), /JSON object/);
  rejects(() => parseJsonObject('null'), /JSON object/);
  rejects(() => parseJsonObject('"text"'), /JSON object/);
});

test('validateItem trims the name and checks type and length', () => {
  assert.deepEqual(validateItem({ name: '  widget ' }), { name: 'widget' });
  assert.deepEqual(validateItem({ name: 'x'.repeat(MAX_NAME_LENGTH), extra: 1 }), { name: 'x'.repeat(MAX_NAME_LENGTH) });
  rejects(() => validateItem({}), /'name' is required/);
  rejects(() => validateItem({ name: 42 }), /must be a string/);
  rejects(() => validateItem({ name: '   ' }), /must not be empty/);
  rejects(() => validateItem({ name: 'x'.repeat(MAX_NAME_LENGTH + 1) }), /at most 200/);
});

test('validateJob checks input and delayMs', () => {
  assert.deepEqual(validateJob({ input: 'hello' }), { input: 'hello', delayMs: 0 });
  assert.deepEqual(validateJob({ input: 'hello', delayMs: 250 }), { input: 'hello', delayMs: 250 });
  rejects(() => validateJob({}), /'input' is required/);
  rejects(() => validateJob({ input: '' }), /'input' is required/);
  rejects(() => validateJob({ input: 'a', delayMs: -1 }), /delayMs/);
  rejects(() => validateJob({ input: 'a', delayMs: 1.5 }), /delayMs/);
  rejects(() => validateJob({ input: 'a', delayMs: 60_000 }), /delayMs/);
});

test('parseLimit and isUuid', () => {
  assert.equal(parseLimit(null), 100);
  assert.equal(parseLimit('5'), 5);
  rejects(() => parseLimit('0'), /limit/);
  rejects(() => parseLimit('abc'), /limit/);
  rejects(() => parseLimit('501'), /limit/);
  assert.equal(isUuid('3f2504e0-4f89-41d3-9a0c-0305e82c3301'), true);
  assert.equal(isUuid('3f2504e0'), false);
  assert.equal(isUuid("1' OR '1'='1"), false);
});

test('isConnectionError tells unreachable dependencies from bugs', () => {
  assert.equal(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.2:5432'), { code: 'ECONNREFUSED' })), true);
  assert.equal(isConnectionError(Object.assign(new Error('getaddrinfo ENOTFOUND db'), { code: 'ENOTFOUND' })), true);
  assert.equal(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
  assert.equal(isConnectionError(Object.assign(new Error('connection failure'), { code: '08006' })), true);
  assert.equal(isConnectionError(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionError(new Error('timeout exceeded when trying to connect')), true);
  assert.equal(isConnectionError(Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' })), false);
  assert.equal(isConnectionError(null), false);
});
