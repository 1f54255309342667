/**
 * What the proxy's admin tests share: a temp folder per test, and closing every proxy and backend
 * a test started (servers with their keep-alive connections) before the folder goes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { ProxyHandle } from '../../src/proxy/server.js';

export interface ProxyTestResources {
  /** Backends to close after the test. */
  servers: Server[];
  /** Proxies to close after the test. */
  proxies: ProxyHandle[];
  /** This test's temp folder. */
  dir(): string;
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
  return { servers, proxies, dir: () => dir };
}
