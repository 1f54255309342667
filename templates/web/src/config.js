// Configuration from the environment (pure: takes the env object, returns plain values).
import { readFileSync } from 'node:fs';
import { parseFault } from './fault-injection.js';
import { parseLevel } from './log.js';

export const DEFAULT_QUEUE = 'demo:jobs';

function packageVersion() {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

export function parseBoolean(value) {
  return ['1', 'true', 'yes', 'on'].includes(String(value ?? '').trim().toLowerCase());
}

/** FEATURE_NEW_CHECKOUT=true -> { newCheckout: true } (every FEATURE_* variable). */
export function parseFeatures(env) {
  const features = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('FEATURE_') || key.length === 'FEATURE_'.length) continue;
    const name = key
      .slice('FEATURE_'.length)
      .toLowerCase()
      .replace(/_+([a-z0-9])/g, (_, c) => c.toUpperCase());
    features[name] = parseBoolean(value);
  }
  return features;
}

export function parsePort(value, fallback = 3000) {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0-65535, got '${value}'`);
  return port;
}

/** Throws an Error naming the variable when PORT or WEB_FAULT* is invalid. */
export function loadConfig(env = process.env) {
  const features = parseFeatures(env);
  return {
    port: parsePort(env.PORT),
    host: env.HOST || '0.0.0.0',
    // WEB_VERSION is the image's build arg (Dockerfile); APP_VERSION at run time still wins.
    version: env.APP_VERSION || env.WEB_VERSION || packageVersion(),
    logLevel: parseLevel(env.LOG_LEVEL),
    databaseUrl: env.DATABASE_URL || 'postgres://app@localhost:5432/app',
    redisUrl: env.REDIS_URL || 'redis://localhost:6379',
    queue: env.JOBS_QUEUE || DEFAULT_QUEUE,
    features,
    checkout: features.newCheckout ? 'new' : 'classic',
    fault: parseFault(env),
  };
}
