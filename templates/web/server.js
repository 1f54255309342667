// envctl demo web service: a JSON API on PostgreSQL (items, job results) and Redis (job queue).
// Environment: PORT (3000), DATABASE_URL, REDIS_URL, JOBS_QUEUE (demo:jobs), LOG_LEVEL (info),
// APP_VERSION (default: WEB_VERSION, then package.json version), FEATURE_* toggles (FEATURE_NEW_CHECKOUT=true),
// WEB_FAULT (none | errors | latency), WEB_FAULT_RATE (0.2), WEB_FAULT_DELAY_MS (150): see src/fault-injection.js.
import { createServer } from 'node:http';
import { createApp } from './src/app.js';
import { loadConfig } from './src/config.js';
import { createDb } from './src/db.js';
import { createLogger } from './src/log.js';
import { createQueue } from './src/queue.js';

const SHUTDOWN_GRACE_MS = 1000; // in-flight requests get this long after SIGTERM
const SHUTDOWN_HARD_MS = 1800; // exit no matter what after this long

/** A bad setting (PORT, WEB_FAULT, ...) is one log line naming it, and exit 2 before listening: no stack. */
function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    createLogger({ base: { service: 'web' } }).error(`invalid configuration: ${error.message}`);
    process.exit(2);
  }
}

const config = loadConfigOrExit();
const log = createLogger({ level: config.logLevel, base: { service: 'web', version: config.version } });

process.on('uncaughtException', (error) => {
  log.error('uncaught exception', { err: error });
  process.exit(1);
});
process.on('unhandledRejection', (error) => log.error('unhandled rejection', { err: error }));

const db = createDb({ url: config.databaseUrl, log });
const queue = createQueue({ url: config.redisUrl, name: config.queue, log });
const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 30_000 }, createApp({ config, db, queue, log }));

server.on('error', (error) => {
  log.error('server error', { err: error });
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  log.info('listening', { port: server.address().port, checkout: config.checkout, features: config.features, fault: config.fault, node: process.version });
});
queue.start();
db.start();

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

  // Stop accepting connections, close idle keep-alive ones, let in-flight requests finish briefly.
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(grace);
  await Promise.allSettled([db.close(), queue.close()]);
  log.info('stopped', { signal, durationMs: Date.now() - started });
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
