// The request handler, separate from the server so that unit tests run it without Redis.
//   GET /          {"service":"web","version":"1"}
//   GET /healthz   {"status":"ok"}
//   GET /api/hits  {"hits":N}: one more hit, counted by `counter` (Redis in production)

/** @param {{ counter: { increment(key: string): Promise<number> }, version: string, log: (level: string, message: string, fields?: object) => void }} deps */
export function createApp({ counter, version, log }) {
  return async (request, response) => {
    const send = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json', 'x-app-version': version });
      response.end(JSON.stringify(body));
    };
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    log('debug', 'request', { method: request.method, path });
    if (request.method !== 'GET') return send(405, { error: 'only GET is supported' });
    if (path === '/') return send(200, { service: 'web', version });
    if (path === '/healthz') return send(200, { status: 'ok', version });
    if (path === '/api/hits') {
      try {
        return send(200, { hits: await counter.increment('hits'), version });
      } catch (error) {
        log('error', `ERROR counter unavailable: ${error.message}`);
        return send(503, { error: 'counter unavailable' });
      }
    }
    return send(404, { error: `no route for ${path}` });
  };
}
