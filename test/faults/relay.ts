/**
 * A test-owned relay between envctl and the real engine (reliability.md §4 "Daemon outage"):
 * envctl talks to `unix://<dir>/relay.sock`, the relay pipes bytes to /var/run/docker.sock. After
 * the Nth request matching a pattern, it either closes (every connection dropped, the socket gone:
 * an engine that died) or hangs (the request reaches the engine, no answer ever comes back: an
 * engine that stopped responding).
 */
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export type RelayFault = { mode: 'pass' } | { mode: 'close' | 'hang'; after: RegExp; count: number };

export interface Relay {
  socketPath: string;
  dockerHost: string;
  /** Requests seen (request lines), for the failure messages. */
  requests: string[];
  /** True once the fault fired. */
  fired(): boolean;
  close(): Promise<void>;
}

export async function startRelay(dir: string, fault: RelayFault, upstreamPath = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock'): Promise<Relay> {
  const socketPath = join(dir, 'relay.sock');
  await rm(socketPath, { force: true });
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let matched = 0;
  let fired = false;
  let hung = false;
  let server: Server | undefined;

  const fire = (): void => {
    fired = true;
    if (fault.mode === 'close') {
      server?.close();
      for (const socket of sockets) socket.destroy();
    } else {
      hung = true;
    }
  };

  server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (hung) return; // accepted, never answered
    const upstream = connect(upstreamPath);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      for (const line of text.match(/^(GET|POST|PUT|DELETE|HEAD) \S+/gm) ?? []) {
        requests.push(line);
        if (fault.mode !== 'pass' && !fired && fault.after.test(line)) {
          matched += 1;
          if (matched === fault.count) {
            upstream.write(chunk);
            fire();
            return;
          }
        }
      }
      // Hanging, the engine still gets every request; only its answers are held back.
      if (!(fault.mode === 'close' && fired)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!hung) client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    dockerHost: `unix://${socketPath}`,
    requests,
    fired: () => fired,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
