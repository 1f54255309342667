// The Redis job list (node-redis). Commands fail fast while Redis is unreachable (no offline
// queue), and the client reconnects by itself with a capped back-off.
import { createClient } from '@redis/client';
import { Unavailable } from './errors.js';

export const reconnectDelay = (retries) => Math.min(100 * 2 ** retries, 2000);

export function createQueue({ url, name, log }) {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
  });
  let lastError = null;
  let reported = false;
  client.on('ready', () => {
    lastError = null;
    reported = false;
    log.info('redis connected', { queue: name });
  });
  client.on('error', (error) => {
    lastError = error;
    // One warning per outage; the retries behind it at debug level.
    (reported ? log.debug : log.warn)('redis connection problem', { err: error.message });
    reported = true;
  });

  const ensureReady = () => {
    if (!client.isReady) throw new Unavailable('redis', lastError ?? new Error('not connected'));
  };

  return {
    start() {
      client.connect().catch((error) => {
        if (client.isOpen) log.error('redis connect failed', { err: error });
      });
    },
    async push(job) {
      ensureReady();
      try {
        return await client.rPush(name, JSON.stringify(job));
      } catch (error) {
        throw new Unavailable('redis', error);
      }
    },
    async health() {
      ensureReady();
      const reply = await client.ping();
      if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
    },
    async close() {
      if (client.isOpen) client.destroy();
    },
  };
}
