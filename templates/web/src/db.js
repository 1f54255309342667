// PostgreSQL access (pg Pool). Connections are made on demand, so a restarted database is picked
// up by the next query; the schema is created in the background until it succeeds.
import pg from 'pg';
import { Unavailable, isConnectionError } from './errors.js';
import { ensureSchema } from './schema.js';

const ITEM_COLUMNS = 'id, name, created_at AS "createdAt"';
const JOB_COLUMNS =
  'id, status, payload, result, error, worker, attempts, created_at AS "createdAt", finished_at AS "finishedAt"';

export function createDb({ url, log, applicationName = 'envctl-demo-web' }) {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: applicationName,
    max: 10,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 10_000,
    query_timeout: 5000,
  });
  // An idle client lost its connection (e.g. the database restarted): the pool drops it.
  pool.on('error', (error) => log.warn('postgres connection lost', { err: error }));

  let schemaReady = false;
  let schemaPromise = null;
  let closed = false;

  function prepareSchema() {
    if (schemaReady) return Promise.resolve();
    schemaPromise ??= ensureSchema(pool)
      .then(() => {
        schemaReady = true;
        log.info('database schema ready');
      })
      .finally(() => {
        schemaPromise = null;
      });
    return schemaPromise;
  }

  async function query(text, values) {
    if (!schemaReady) {
      try {
        await prepareSchema();
      } catch (error) {
        throw new Unavailable('postgres', error);
      }
    }
    try {
      return await pool.query(text, values);
    } catch (error) {
      if (isConnectionError(error)) throw new Unavailable('postgres', error);
      throw error;
    }
  }

  return {
    /** Retry the schema until it is created (or close() is called); never rejects. */
    async start() {
      for (let attempt = 0; !schemaReady && !closed; attempt++) {
        try {
          await prepareSchema();
        } catch (error) {
          if (closed) return;
          const delay = Math.min(250 * 2 ** attempt, 2000);
          (attempt === 0 ? log.warn : log.debug)('database not ready, retrying', { attempt, retryInMs: delay, err: error.message });
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
    async health() {
      await prepareSchema();
      await pool.query('SELECT 1');
    },
    async listItems(limit) {
      const { rows } = await query(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY id DESC LIMIT $1`, [limit]);
      return rows;
    },
    async createItem(name) {
      const { rows } = await query(`INSERT INTO items (name) VALUES ($1) RETURNING ${ITEM_COLUMNS}`, [name]);
      return rows[0];
    },
    async createJob(id, payload) {
      const { rows } = await query(`INSERT INTO jobs (id, payload) VALUES ($1, $2) RETURNING ${JOB_COLUMNS}`, [id, payload]);
      return rows[0];
    },
    async failJob(id, message) {
      await query(`UPDATE jobs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [id, message]);
    },
    async getJob(id) {
      const { rows } = await query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
      return rows[0] ?? null;
    },
    async close() {
      closed = true;
      await pool.end();
    },
  };
}
