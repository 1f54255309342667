// The HTTP API as a plain request handler. Its dependencies (database, queue, logger) are passed
// in, so the unit tests drive it with in-memory fakes.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Unavailable } from './errors.js';
import { createFaultInjector } from './fault-injection.js';
import { BadRequest, isUuid, parseJsonObject, parseLimit, validateItem, validateJob } from './validate.js';

export const MAX_BODY_BYTES = 64 * 1024;
export const HEALTH_TIMEOUT_MS = 1500;
export { Unavailable };

const ROUTES = [
  { path: /^\/$/, methods: { GET: 'index' } },
  { path: /^\/healthz$/, methods: { GET: 'health', HEAD: 'health' } },
  { path: /^\/api\/version$/, methods: { GET: 'version' } },
  { path: /^\/api\/items$/, methods: { GET: 'listItems', POST: 'createItem' } },
  { path: /^\/api\/jobs$/, methods: { POST: 'createJob' } },
  { path: /^\/api\/jobs\/([^/]+)$/, methods: { GET: 'getJob' } },
];

/** (method, pathname) -> { name, params } | { status: 404 } | { status: 405, allow } */
export function matchRoute(method, pathname) {
  for (const route of ROUTES) {
    const match = route.path.exec(pathname);
    if (!match) continue;
    const name = route.methods[method];
    if (!name) return { status: 405, allow: Object.keys(route.methods).join(', ') };
    return { name, params: match.slice(1).map((part) => decodeURIComponent(part)) };
  }
  return { status: 404 };
}

/** Resolve within `ms` or reject with a timeout error (the work itself is not cancelled). */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readBody(request, limit = MAX_BODY_BYTES) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > limit) throw new BadRequest(`request body is larger than ${limit} bytes`, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createApp({ config, db, queue, log }) {
  const { version, checkout, features } = config;
  let lastHealth = null; // the failed dependencies at the last /healthz, as 'a,b' ('' = healthy)
  const injectFault = createFaultInjector(config.fault);

  const send = (response, status, body) => {
    const payload = JSON.stringify({ ...body, version });
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
    });
    response.end(response.req.method === 'HEAD' ? undefined : payload);
  };

  async function checkAll() {
    const run = async (name, check) => {
      const started = performance.now();
      try {
        await withTimeout(check(), HEALTH_TIMEOUT_MS, name);
        return [name, { ok: true, durationMs: Math.round(performance.now() - started) }];
      } catch (error) {
        return [name, { ok: false, error: error.message, durationMs: Math.round(performance.now() - started) }];
      }
    };
    return Object.fromEntries(await Promise.all([run('postgres', () => db.health()), run('redis', () => queue.health())]));
  }

  const handlers = {
    index: async (request, response) =>
      send(response, 200, {
        service: 'web',
        checkout,
        endpoints: ['GET /healthz', 'GET /api/version', 'GET /api/items', 'POST /api/items', 'POST /api/jobs', 'GET /api/jobs/:id'],
      }),

    health: async (request, response) => {
      const checks = await checkAll();
      const failed = Object.keys(checks).filter((name) => !checks[name].ok);
      // Log changes only (a healthcheck polls every second or two).
      const state = failed.join(',');
      if (state !== lastHealth) {
        if (failed.length > 0) log.warn('health check failed', { failed, checks });
        else if (lastHealth !== null) log.info('healthy again', { checks });
        lastHealth = state;
      }
      if (failed.length > 0) return send(response, 503, { status: 'unavailable', failed, checks });
      return send(response, 200, { status: 'ok', checks });
    },

    version: async (request, response) => send(response, 200, { checkout, features, node: process.version }),

    listItems: async (request, response, url) => {
      const limit = parseLimit(url.searchParams.get('limit'));
      const items = await db.listItems(limit);
      return send(response, 200, { checkout, count: items.length, items });
    },

    createItem: async (request, response) => {
      const { name } = validateItem(parseJsonObject(await readBody(request)));
      const item = await db.createItem(name);
      log.info('item created', { itemId: item.id });
      response.setHeader('location', `/api/items/${item.id}`);
      return send(response, 201, { checkout, item });
    },

    createJob: async (request, response) => {
      const payload = validateJob(parseJsonObject(await readBody(request)));
      const id = randomUUID();
      const job = await db.createJob(id, payload);
      try {
        await queue.push({ id, payload, enqueuedAt: new Date().toISOString() });
      } catch (error) {
        await db.failJob(id, `could not enqueue: ${error.message}`).catch(() => {});
        throw error;
      }
      log.info('job enqueued', { jobId: id, queue: config.queue });
      response.setHeader('location', `/api/jobs/${id}`);
      return send(response, 202, { job });
    },

    getJob: async (request, response, url, [id]) => {
      if (!isUuid(id)) throw new BadRequest('job id must be a UUID');
      const job = await db.getJob(id);
      if (!job) return send(response, 404, { error: `no job ${id}` });
      return send(response, 200, { job });
    },
  };

  return async function handle(request, response) {
    const started = performance.now();
    const requestId = String(request.headers['x-request-id'] ?? '').slice(0, 100) || randomUUID();
    response.setHeader('x-app-version', version);
    response.setHeader('x-demo-version', version); // the same, under the name the release demo shows (README.md)
    response.setHeader('x-request-id', requestId);
    const url = new URL(request.url ?? '/', 'http://localhost');

    response.on('close', () => {
      const status = response.statusCode;
      const fields = {
        method: request.method,
        path: url.pathname,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        requestId,
      };
      if (!response.writableFinished) fields.aborted = true;
      const level = status >= 500 && url.pathname !== '/healthz' ? 'error' : url.pathname === '/healthz' ? 'debug' : 'info';
      log[level]('request', fields);
    });

    const route = matchRoute(request.method, url.pathname);
    try {
      const fault = await injectFault(url.pathname);
      if (fault) {
        // Upper-case ERROR: the line must match a release's logErrorPattern.
        log.error(`ERROR injected fault: ${fault}`, { method: request.method, path: url.pathname, requestId });
        return send(response, 500, { error: 'injected fault' });
      }
      if (route.status === 404) return send(response, 404, { error: `no route for ${request.method} ${url.pathname}` });
      if (route.status === 405) {
        response.setHeader('allow', route.allow);
        return send(response, 405, { error: `method ${request.method} not allowed on ${url.pathname}` });
      }
      await handlers[route.name](request, response, url, route.params);
    } catch (error) {
      if (response.headersSent) {
        response.destroy(error);
      } else if (error instanceof BadRequest) {
        send(response, error.status, { error: error.message });
      } else if (error instanceof Unavailable) {
        log.error('dependency unavailable', { dependency: error.dependency, err: error.cause ?? error, path: url.pathname, requestId });
        response.setHeader('retry-after', '1');
        send(response, 503, { error: error.message, failed: [error.dependency] });
      } else {
        log.error('request failed', { err: error, method: request.method, path: url.pathname, requestId });
        send(response, 500, { error: 'internal error' });
      }
    }
  };
}
