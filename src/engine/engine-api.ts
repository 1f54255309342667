/**
 * Read-only JSON requests to the Docker Engine API over its socket (or TLS). The calls a no-change
 * `up`, `plan` or `status` makes go through here, so they do not load dockerode, whose transport
 * pulls in gRPC and SSH code on every start. Writes and streams use dockerode (engine/docker-engine.ts).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

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

/** GETs `path` (with `query`) and parses the JSON answer. The caller bounds the time it waits. */
export function getJson<T>(endpoint: ApiEndpoint, path: string, query: Record<string, string> = {}): Promise<T> {
  const search = new URLSearchParams(query).toString();
  const tls = endpoint.protocol === 'https';
  const send = tls ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const request = send(
      {
        method: 'GET',
        path: search ? `${path}?${search}` : path,
        ...(endpoint.socketPath ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
        ...(tls ? { ca: endpoint.ca, cert: endpoint.cert, key: endpoint.key } : {}),
        headers: { host: 'docker', accept: 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            let message = body.trim();
            try {
              message = (JSON.parse(body) as { message?: string }).message ?? message;
            } catch {
              // Not JSON: the raw text is the message.
            }
            reject(new EngineApiError(`(HTTP code ${status}) ${message}`, status));
            return;
          }
          try {
            resolve((body === '' ? undefined : path === '/_ping' ? body : JSON.parse(body)) as T);
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    // Callers bound the wait with their own timer (docker-engine.ts); once they give up on an
    // engine that accepted the connection but never answers, its socket must not keep the CLI alive.
    request.on('socket', (socket) => socket.unref());
    request.end();
  });
}
