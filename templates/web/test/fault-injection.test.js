import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFaultInjector, isFailingRequest, parseFault } from '../src/fault-injection.js';

test('parseFault: defaults, and each kind with only the setting it uses', () => {
  const cases = [
    [{}, { kind: 'none' }],
    [{ WEB_FAULT: '' }, { kind: 'none' }],
    [{ WEB_FAULT: 'none', WEB_FAULT_RATE: '0.5' }, { kind: 'none' }],
    [{ WEB_FAULT: 'errors' }, { kind: 'errors', rate: 0.2 }],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: '1' }, { kind: 'errors', rate: 1 }],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: '0.05' }, { kind: 'errors', rate: 0.05 }],
    [{ WEB_FAULT: 'latency' }, { kind: 'latency', delayMs: 150 }],
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '0' }, { kind: 'latency', delayMs: 0 }],
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '10000' }, { kind: 'latency', delayMs: 10_000 }],
  ];
  for (const [env, expected] of cases) assert.deepEqual(parseFault(env), expected, JSON.stringify(env));
});

test('parseFault: an invalid value names the variable and what it allows', () => {
  const cases = [
    [{ WEB_FAULT: 'crash' }, /WEB_FAULT must be one of none, errors, latency; got 'crash'$/],
    [{ WEB_FAULT: 'Errors' }, /WEB_FAULT must be one of none, errors, latency/],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: '0' }, /WEB_FAULT_RATE must be a number above 0 and at most 1 .*; got '0'$/],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: '1.5' }, /WEB_FAULT_RATE .* got '1.5'/],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: '20%' }, /WEB_FAULT_RATE .* got '20%'/],
    [{ WEB_FAULT: 'errors', WEB_FAULT_RATE: 'NaN' }, /WEB_FAULT_RATE/],
    [{ WEB_FAULT: 'none', WEB_FAULT_RATE: '-1' }, /WEB_FAULT_RATE/], // checked even when unused
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '1.5' }, /WEB_FAULT_DELAY_MS must be a whole number of milliseconds from 0 to 10000; got '1.5'$/],
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '-1' }, /WEB_FAULT_DELAY_MS/],
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '150ms' }, /WEB_FAULT_DELAY_MS .* got '150ms'/],
    [{ WEB_FAULT: 'latency', WEB_FAULT_DELAY_MS: '10001' }, /WEB_FAULT_DELAY_MS/],
  ];
  for (const [env, message] of cases) assert.throws(() => parseFault(env), message, JSON.stringify(env));
});

test('isFailingRequest spreads an exact share evenly', () => {
  const failing = (rate, upTo) => Array.from({ length: upTo }, (_, i) => i + 1).filter((n) => isFailingRequest(n, rate));
  assert.deepEqual(failing(0.2, 20), [5, 10, 15, 20]);
  assert.deepEqual(failing(0.3, 10), [4, 7, 10]);
  assert.deepEqual(failing(0.5, 6), [2, 4, 6]);
  assert.deepEqual(failing(1, 3), [1, 2, 3]);
  for (const rate of [0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.57, 0.7, 0.9]) {
    assert.equal(failing(rate, 1000).length, Math.round(rate * 1000), `rate ${rate}`);
  }
});

test('errors: every 5th request for 0.2, /healthz neither counted nor failed', async () => {
  const injectFault = createFaultInjector({ kind: 'errors', rate: 0.2 });
  const answers = [];
  for (let n = 1; n <= 10; n++) {
    assert.equal(await injectFault('/healthz'), null);
    answers.push(await injectFault(n % 2 ? '/' : '/api/items'));
  }
  assert.deepEqual(
    answers.map((answer) => answer !== null),
    [false, false, false, false, true, false, false, false, false, true],
  );
  assert.equal(answers[4], 'request 5 fails (WEB_FAULT=errors, WEB_FAULT_RATE=0.2)');
});

test('latency: every request but /healthz waits delayMs; none never waits', async () => {
  const waits = [];
  const wait = async (ms) => waits.push(ms);
  const slow = createFaultInjector({ kind: 'latency', delayMs: 150 }, { wait });
  assert.equal(await slow('/'), null);
  assert.equal(await slow('/healthz'), null);
  assert.equal(await slow('/api/items'), null);
  assert.deepEqual(waits, [150, 150]);

  const healthy = createFaultInjector({ kind: 'none' }, { wait });
  for (let n = 0; n < 10; n++) assert.equal(await healthy('/'), null);
  assert.deepEqual(waits, [150, 150]);
});
