// {{envctl.name}} web: a small JSON API on node:http, with a hit counter in Redis.
// Environment: PORT (3000), REDIS_URL (redis://cache:6379), LOG_LEVEL (info), APP_VERSION (1).
import { createServer } from 'node:http';
import { createApp } from './src/app.js';
import { createCounter } from './src/counter.js';

const port = Number(process.env.PORT || 3000);
const version = process.env.APP_VERSION || '1';
const debug = process.env.LOG_LEVEL === 'debug';
const log = (level, message, fields = {}) => {
  if (level === 'debug' && !debug) return;
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: 'web', message, ...fields })}\n`);
};

const counter = createCounter(process.env.REDIS_URL || 'redis://cache:6379');
const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 30_000 }, createApp({ counter, version, log }));
server.listen(port, () => log('info', 'listening', { port, version, node: process.version }));

// `docker stop` sends SIGTERM (through tini): finish what is in flight, then exit.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log('info', 'shutting down', { signal });
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
