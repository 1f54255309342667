// Errors the API maps to HTTP statuses.

/** A dependency (PostgreSQL or Redis) cannot be reached: the request gets a 503. */
export class Unavailable extends Error {
  constructor(dependency, cause) {
    super(`${dependency} unavailable: ${cause?.message ?? cause ?? 'not connected'}`, cause instanceof Error ? { cause } : undefined);
    this.name = 'Unavailable';
    this.dependency = dependency;
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up / shutting down
]);

/** Whether a database/Redis error means "cannot reach it" (503) rather than a bug (500). */
export function isConnectionError(error) {
  if (!error || typeof error !== 'object') return false;
  if (CONNECTION_CODES.has(error.code)) return true;
  if (typeof error.code === 'string' && error.code.startsWith('08')) return true; // SQLSTATE class 08: connection exception
  const message = String(error.message ?? '');
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Client has encountered a connection error|The client is closed|Socket closed unexpectedly/i.test(message);
}
