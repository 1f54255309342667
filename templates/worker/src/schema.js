// The tables the demo uses (the same file as templates/web/src/schema.js). Created on start by web
// and worker alike: idempotent, and serialized with an advisory lock so two services starting at once
// do not race on CREATE TABLE.
export const SCHEMA_LOCK_ID = 4_242_001;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS items (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS jobs (
  id uuid PRIMARY KEY,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
  result jsonb,
  error text,
  worker text,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
`;

export async function ensureSchema(pool) {
  const client = await pool.connect();
  let failure;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_ID]);
    await client.query(SCHEMA_SQL);
    await client.query('COMMIT');
  } catch (error) {
    failure = error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(failure); // a client that failed is discarded, not reused
  }
}
