// envctl demo worker: BLPOP jobs from a Redis list, compute a result, write it to PostgreSQL.
// Environment: DATABASE_URL, REDIS_URL, JOBS_QUEUE (demo:jobs), JOBS_BLOCK_SECONDS (5),
// LOG_LEVEL (info), APP_VERSION (default: package.json version), WORKER_NAME (hostname).
import pg from 'pg';
import { createClient } from '@redis/client';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from './src/config.js';
import { backoff } from './src/jobs.js';
import { createLogger } from './src/log.js';
import { createWorker } from './src/loop.js';
import { ensureSchema } from './src/schema.js';

const SHUTDOWN_HARD_MS = 1800;

const config = loadConfig();
const log = createLogger({ level: config.logLevel, base: { service: 'worker', version: config.version } });
process.on('uncaughtException', (error) => {
  log.error('uncaught exception', { err: error });
  process.exit(1);
});
process.on('unhandledRejection', (error) => log.error('unhandled rejection', { err: error }));

// PostgreSQL: a pool makes connections on demand, so a restarted database is used again as soon
// as it answers; an idle connection that dies is dropped (and logged).
const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  application_name: 'envctl-demo-worker',
  max: 2,
  connectionTimeoutMillis: 2000,
  idleTimeoutMillis: 10_000,
  query_timeout: 5000,
});
pool.on('error', (error) => log.warn('postgres connection lost', { err: error.message }));

// Redis: its own connection for the blocking BLPOP. node-redis reconnects by itself; while it is
// disconnected, commands wait in its offline queue and the BLPOP that was in flight fails (the
// loop then backs off and issues a new one).
const redis = createClient({
  url: config.redisUrl,
  socket: { connectTimeout: 2000, reconnectStrategy: (retries) => backoff(retries, 100, 2000) },
});
let redisDown = false;
redis.on('ready', () => {
  log.info('redis connected', { queue: config.queue, reconnected: redisDown });
  redisDown = false;
});
redis.on('error', (error) => {
  (redisDown ? log.debug : log.warn)('redis connection problem', { err: error.message });
  redisDown = true;
});

const JOB_COLUMNS = 'id, payload, status, result, error, worker, attempts, finished_at';
const store = {
  async saveResult(job, result, worker) {
    await pool.query(
      `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, 'done', $3, NULL, $4, 1, now())
       ON CONFLICT (id) DO UPDATE SET status = 'done', result = EXCLUDED.result, error = NULL,
         worker = EXCLUDED.worker, attempts = jobs.attempts + 1, finished_at = now()`,
      [job.id, job.payload, result, worker],
    );
  },
  async saveFailure(job, message, worker) {
    await pool.query(
      `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, 'failed', NULL, $3, $4, 1, now())
       ON CONFLICT (id) DO UPDATE SET status = 'failed', error = EXCLUDED.error,
         worker = EXCLUDED.worker, attempts = jobs.attempts + 1, finished_at = now()`,
      [job.id, job.payload, message, worker],
    );
  },
};
const queue = {
  async pop(seconds) {
    const reply = await redis.blPop(config.queue, seconds);
    return reply ? reply.element : null;
  },
  async pushBack(raw) {
    await redis.lPush(config.queue, raw);
  },
};
const worker = createWorker({ queue, store, log, config });

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  const started = Date.now();
  log.info('shutting down', { signal });
  setTimeout(() => {
    log.warn('shutdown took too long, exiting', { afterMs: Date.now() - started });
    process.exit(0);
  }, SHUTDOWN_HARD_MS).unref();
  await worker.stop(); // finishes (or puts back) the job in hand
  if (redis.isOpen) redis.destroy(); // also ends a pending BLPOP at once
  await pool.end().catch(() => {});
  log.info('stopped', { signal, durationMs: Date.now() - started, ...worker.stats });
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

async function main() {
  log.info('worker starting', { queue: config.queue, worker: config.workerName, node: process.version });
  redis.connect().catch((error) => {
    if (!stopping) log.error('redis connect failed', { err: error });
  });
  for (let attempt = 0; !stopping; attempt++) {
    try {
      await ensureSchema(pool);
      log.info('database schema ready');
      break;
    } catch (error) {
      (attempt === 0 ? log.warn : log.debug)('database not ready, retrying', { attempt, err: error.message });
      await delay(backoff(attempt, 250, 2000));
    }
  }
  if (!stopping) await worker.run();
}
main().catch((error) => {
  log.error('worker crashed', { err: error });
  process.exit(1);
});
