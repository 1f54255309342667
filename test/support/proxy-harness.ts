/**
 * What the proxy's admin tests share: a temp folder per test, and closing every proxy and backend
 * a test started (servers with their keep-alive connections) before the folder goes.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createRouter } from '../../src/proxy/routing.js';
import { startProxy, type ProxyHandle, type ProxyOptions } from '../../src/proxy/server.js';
import { ARMS, type Arm, type RequestRecord, type Weights } from '../../src/proxy/types.js';

/** How a test backend answers; the default answers with its arm's name. */
export type ArmHandler = (request: IncomingMessage, response: ServerResponse, arm: Arm) => void;

export const answerWithArm: ArmHandler = (request, response, arm) => {
  request.resume();
  request.on('end', () => response.end(arm));
};

export interface ProxyTestResources {
  /** Backends to close after the test. */
  servers: Server[];
  /** Proxies to close after the test. */
  proxies: ProxyHandle[];
  /** This test's temp folder. */
  dir(): string;
  /**
   * Three loopback backends (one per arm) and a proxy over them with its admin socket in the temp
   * folder, recording into `records`.
   */
  startHarness(weights: Weights, options?: Partial<ProxyOptions>, handler?: ArmHandler): Promise<{ proxy: ProxyHandle; records: RequestRecord[]; socketPath: string }>;
}

/** Registers the hooks in the calling suite; returns where tests put what must be closed. */
export function useProxyTestResources(prefix: string): ProxyTestResources {
  const servers: Server[] = [];
  const proxies: ProxyHandle[] = [];
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  });
  const startHarness: ProxyTestResources['startHarness'] = async (weights, options = {}, handler = answerWithArm) => {
    const ports = await Promise.all(
      ARMS.map(async (arm) => {
        const server = createServer((request, response) => handler(request, response, arm));
        servers.push(server);
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        return [arm, { host: '127.0.0.1', port: (server.address() as AddressInfo).port }] as const;
      }),
    );
    const records: RequestRecord[] = [];
    const socketPath = join(dir, 'admin.sock');
    const proxy = await startProxy({
      upstreams: Object.fromEntries(ports) as ProxyOptions['upstreams'],
      router: createRouter(weights, { sticky: 'none' }),
      record: (record) => records.push(record),
      adminSocketPath: socketPath,
      ...options,
    });
    proxies.push(proxy);
    return { proxy, records, socketPath };
  };
  return { servers, proxies, dir: () => dir, startHarness };
}
