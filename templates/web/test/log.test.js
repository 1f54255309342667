import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, formatLine, parseLevel, serializeError } from '../src/log.js';

test('formatLine writes one JSON object with time, level, msg, base and fields', () => {
  const line = formatLine({
    level: 'info',
    msg: 'request',
    base: { service: 'web' },
    fields: { method: 'GET', status: 200, skipped: undefined },
    now: new Date('2030-01-02T03:04:05.678Z'),
  });
  assert.ok(!line.includes('\n'));
  assert.deepEqual(JSON.parse(line), {
    time: '2030-01-02T03:04:05.678Z',
    level: 'info',
    msg: 'request',
    service: 'web',
    method: 'GET',
    status: 200,
  });
});

test('errors become plain objects with name, message, code and stack', () => {
  const error = Object.assign(new Error('boom'), { code: 'ECONNREFUSED' });
  const entry = JSON.parse(formatLine({ level: 'error', msg: 'failed', fields: { err: error } }));
  assert.equal(entry.err.message, 'boom');
  assert.equal(entry.err.code, 'ECONNREFUSED');
  assert.match(entry.err.stack, /boom/);
  assert.deepEqual(serializeError('text'), { message: 'text' });
  assert.deepEqual(serializeError(new AggregateError([new Error('a'), new Error('b')], 'all')).errors, ['a', 'b']);
});

test('createLogger filters below its level and writes newline-terminated lines', () => {
  const lines = [];
  const log = createLogger({ level: 'warn', base: { service: 'web' }, write: (line) => lines.push(line) });
  log.debug('d');
  log.info('i');
  log.warn('w', { a: 1 });
  log.error('e');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => line.endsWith('\n')));
  assert.deepEqual(lines.map((line) => JSON.parse(line).level), ['warn', 'error']);
  assert.equal(JSON.parse(lines[0]).a, 1);
  assert.equal(log.enabled('error'), true);
  assert.equal(log.enabled('info'), false);
});

test('parseLevel accepts known levels case-insensitively and falls back otherwise', () => {
  assert.equal(parseLevel('DEBUG'), 'debug');
  assert.equal(parseLevel(' error '), 'error');
  assert.equal(parseLevel('verbose'), 'info');
  assert.equal(parseLevel(undefined, 'warn'), 'warn');
});
