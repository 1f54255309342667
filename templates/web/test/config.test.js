import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_QUEUE, loadConfig, parseBoolean, parseFeatures, parsePort } from '../src/config.js';

const packageVersion = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

test('defaults: port 3000, version from package.json, classic checkout', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.version, packageVersion);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.queue, DEFAULT_QUEUE);
  assert.equal(config.checkout, 'classic');
  assert.deepEqual(config.features, {});
});

test('environment overrides', () => {
  const config = loadConfig({
    PORT: '8081',
    APP_VERSION: '2.0.0-rc.1',
    LOG_LEVEL: 'debug',
    DATABASE_URL: 'postgres://app:pw@db:5432/app',
    REDIS_URL: 'redis://cache:6379',
    JOBS_QUEUE: 'q',
    FEATURE_NEW_CHECKOUT: 'true',
  });
  assert.equal(config.port, 8081);
  assert.equal(config.version, '2.0.0-rc.1');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.databaseUrl, 'postgres://app:pw@db:5432/app');
  assert.equal(config.redisUrl, 'redis://cache:6379');
  assert.equal(config.queue, 'q');
  assert.equal(config.checkout, 'new');
});

test('WEB_VERSION (the image build arg) is the version unless APP_VERSION is set; WEB_FAULT is parsed', () => {
  assert.equal(loadConfig({ WEB_VERSION: '2' }).version, '2');
  assert.equal(loadConfig({ WEB_VERSION: '2', APP_VERSION: '2.0.1' }).version, '2.0.1');
  assert.deepEqual(loadConfig({}).fault, { kind: 'none' });
  assert.deepEqual(loadConfig({ WEB_FAULT: 'latency' }).fault, { kind: 'latency', delayMs: 150 });
  assert.throws(() => loadConfig({ WEB_FAULT: 'slow' }), /WEB_FAULT must be one of none, errors, latency/);
});

test('FEATURE_* variables become camelCase booleans', () => {
  assert.deepEqual(parseFeatures({ FEATURE_NEW_CHECKOUT: 'true', FEATURE_DARK_MODE: 'false', FEATURE_X: '1', FEATURE_: 'true', OTHER: 'true' }), {
    newCheckout: true,
    darkMode: false,
    x: true,
  });
});

test('parseBoolean and parsePort', () => {
  for (const yes of ['true', 'TRUE', '1', 'yes', 'on', ' true ']) assert.equal(parseBoolean(yes), true, yes);
  for (const no of ['false', '0', '', 'no', undefined, 'maybe']) assert.equal(parseBoolean(no), false, String(no));
  assert.equal(parsePort(undefined), 3000);
  assert.equal(parsePort('0'), 0);
  assert.throws(() => parsePort('http'), /PORT/);
  assert.throws(() => parsePort('70000'), /PORT/);
});
