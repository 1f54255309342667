// Configuration from the environment (pure: takes the env object, returns plain values).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseLevel } from './log.js';

export const DEFAULT_QUEUE = 'demo:jobs';

function packageVersion() {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

export function loadConfig(env = process.env) {
  const blockSeconds = Number(env.JOBS_BLOCK_SECONDS || 5);
  if (!(blockSeconds > 0 && blockSeconds <= 60)) throw new Error(`JOBS_BLOCK_SECONDS must be in (0, 60], got '${env.JOBS_BLOCK_SECONDS}'`);
  return {
    version: env.APP_VERSION || packageVersion(),
    logLevel: parseLevel(env.LOG_LEVEL),
    databaseUrl: env.DATABASE_URL || 'postgres://app@localhost:5432/app',
    redisUrl: env.REDIS_URL || 'redis://localhost:6379',
    queue: env.JOBS_QUEUE || DEFAULT_QUEUE,
    blockSeconds,
    workerName: env.WORKER_NAME || hostname(),
  };
}
