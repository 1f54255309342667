/**
 * JSON requests to the Docker Engine API over its socket (or TLS). The calls a no-change
 * `up`, `plan` or `status` makes go through here, so they do not load dockerode, whose transport
 * pulls in gRPC and SSH code on every start. So do the calls `down` makes (stop, remove, the event
 * stream). Builds, exec, logs and container/network creation use dockerode (engine/docker-engine.ts).
 */
import { createRequire } from 'node:module';

// `import … from 'node:http'` evaluates every export of node:http as an ES module, the undici-backed
// WebSocket among them: about 20 ms of each CLI start. require() hands over the CommonJS object and
// nothing else; https only loads when a TLS engine is used.
const requireBuiltin = createRequire(import.meta.url);

export interface ApiEndpoint {
  socketPath?: string | undefined;
  host?: string | undefined;
  port?: number | string | undefined;
  protocol?: string | undefined;
  ca?: Buffer | string | undefined;
  cert?: Buffer | string | undefined;
  key?: Buffer | string | undefined;
}

/** An engine answer outside 2xx: `statusCode` as dockerode reports it, so callers treat both alike. */
export class EngineApiError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/**
 * GETs `/_ping` and resolves with the answer's headers (`Api-Version`, `Server`, `Ostype`): the
 * engine's version without `/version`, which dockerd answers by asking containerd, runc and
 * docker-init for theirs (about 8 ms of each command's start). The caller bounds the time it waits.
 */
export async function pingHeaders(endpoint: ApiEndpoint): Promise<import('node:http').IncomingHttpHeaders> {
  return (await exchange(endpoint, 'GET', '/_ping', {})).headers;
}

/** GETs `path` (with `query`) and parses the JSON answer. The caller bounds the time it waits. */
export function getJson<T>(endpoint: ApiEndpoint, path: string, query: Record<string, string> = {}): Promise<T> {
  return requestJson<T>(endpoint, 'GET', path, query);
}

/**
 * Sends one request (a JSON `body` when given) and parses the JSON answer (undefined for an empty
 * one). The caller bounds the time it waits; `signal` closes the request when it gives up.
 */
export async function requestJson<T>(endpoint: ApiEndpoint, method: string, path: string, query: Record<string, string> = {}, body?: unknown, signal?: AbortSignal): Promise<T> {
  const { text } = await exchange(endpoint, method, path, query, body, signal);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** One request and its whole answer; an answer outside 2xx rejects with the engine's message. */
function exchange(
  endpoint: ApiEndpoint,
  method: string,
  path: string,
  query: Record<string, string>,
  body?: unknown,
  signal?: AbortSignal,
): Promise<{ headers: import('node:http').IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = send(endpoint, method, path, query, body, signal, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        if (status < 200 || status >= 300) reject(apiError(status, text));
        else resolve({ headers: response.headers, text });
      });
    });
    request.on('error', reject);
  });
}

/**
 * GETs a streaming endpoint (`/events`): resolves with the response once the engine answered 2xx;
 * it streams until `signal` aborts or the engine ends it.
 */
export function openStream(endpoint: ApiEndpoint, path: string, query: Record<string, string>, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    const request = send(endpoint, 'GET', path, query, undefined, signal, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(response);
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => reject(apiError(status, Buffer.concat(chunks).toString('utf8'))));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

function send(
  endpoint: ApiEndpoint,
  method: string,
  path: string,
  query: Record<string, string>,
  body: unknown,
  signal: AbortSignal | undefined,
  onResponse: (response: import('node:http').IncomingMessage) => void,
): import('node:http').ClientRequest {
  const search = new URLSearchParams(query).toString();
  const tls = endpoint.protocol === 'https';
  const { request: open } = requireBuiltin(tls ? 'node:https' : 'node:http') as typeof import('node:https');
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const request = open(
    {
      method,
      path: search ? `${path}?${search}` : path,
      // A socket has no TLS server name: an empty one spares Node's agent from deriving it (its
      // first IP-address check compiles the IPv6 pattern, about 6 ms of a command's start).
      ...(endpoint.socketPath ? { socketPath: endpoint.socketPath, servername: '' } : { host: endpoint.host, port: endpoint.port }),
      ...(tls ? { ca: endpoint.ca, cert: endpoint.cert, key: endpoint.key } : {}),
      // A unix socket has no host name (the Docker CLI sends `docker`); over TCP Node sets host:port,
      // and TLS checks the engine's certificate against that name, so it must not be replaced.
      headers: { ...(endpoint.socketPath ? { host: 'docker' } : {}), accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
      ...(signal ? { signal } : {}),
    },
    onResponse,
  );
  // Callers bound the wait with their own timer (docker-engine.ts); once they give up on an
  // engine that accepted the connection but never answers, its socket must not keep the CLI alive.
  request.on('socket', (socket) => socket.unref());
  request.end(payload);
  return request;
}

/** An answer outside 2xx as an error carrying the engine's message and the status. */
function apiError(status: number, text: string): EngineApiError {
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the raw text is the message.
  }
  return new EngineApiError(`(HTTP code ${status}) ${message}`, status);
}
