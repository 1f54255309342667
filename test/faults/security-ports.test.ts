/**
 * Network exposure (reliability.md, security checklist): ports published without a host address
 * bind 127.0.0.1, in the engine's bindings and in the host's listening sockets; `0.0.0.0` only when
 * the definition says so. The opt-in port proves the socket check can see an all-interfaces bind.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, docker, envctlIn, faultProject, removeProject, tempDir } from './support.js';

const project = faultProject('ports');
let folder: Awaited<ReturnType<typeof tempDir>>;
/** Host ports: published without an address (short and long form), and explicitly on all interfaces. */
let ports: { short: number; long: number; everywhere: number };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Local addresses of the host's listening TCP sockets on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
async function listeners(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) out.push(local.slice(0, -5));
    }
  }
  return out;
}

const LOOPBACK_V4 = '0100007F';
const ANY_V4 = '00000000';
const ANY_V6 = '00000000000000000000000000000000';

beforeAll(async () => {
  folder = await tempDir('ports');
  ports = { short: await freePort(), long: await freePort(), everywhere: await freePort() };
  await writeFile(
    join(folder.dir, 'envctl.yaml'),
    `name: ${project}
services:
  app:
    image: ${BASE_IMAGE}
    command: ["sleep", "3600"]
    # Nothing listens on these ports: the healthcheck, not port readiness, says when it is up.
    healthcheck: { test: ["CMD", "true"], interval: 500ms }
    ports:
      - "${ports.short}:3000"
      - { target: 3001, published: ${ports.long} }
      - "0.0.0.0:${ports.everywhere}:3002"
`,
  );
  const up = await envctlIn(folder.dir, ['up', '--wait-timeout', '30s']);
  expect(up.exitCode, String(up.stderr)).toBe(0);
});

afterAll(async () => {
  await removeProject(project);
  await folder?.remove();
});

describe('published ports', () => {
  it('are bound to 127.0.0.1 in the engine unless the definition names another address', async () => {
    const [listed] = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } });
    const info = await docker.getContainer(listed!.Id).inspect();
    const bindings = info.HostConfig.PortBindings as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    expect(bindings['3000/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(ports.short) }]);
    expect(bindings['3001/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(ports.long) }]);
    expect(bindings['3002/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: String(ports.everywhere) }]);
    // What the engine actually published (NetworkSettings), not only what was asked for.
    const published = info.NetworkSettings.Ports as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    expect(published['3000/tcp']?.map((binding) => binding.HostIp)).toEqual(['127.0.0.1']);
    expect(published['3001/tcp']?.map((binding) => binding.HostIp)).toEqual(['127.0.0.1']);
  });

  it('listen on the host on loopback only; the explicit opt-in listens on all interfaces', async () => {
    for (const port of [ports.short, ports.long]) {
      const local = await listeners(port);
      expect(local, `listeners on ${port}`).toContain(LOOPBACK_V4);
      expect(local.filter((address) => address === ANY_V4 || address === ANY_V6), `all-interface listeners on ${port}`).toEqual([]);
    }
    expect(await listeners(ports.everywhere)).toContain(ANY_V4);
  });

  it('are reported with their loopback address by status --json', async () => {
    const status = await envctlIn(folder.dir, ['status', '--json']);
    expect(status.exitCode, String(status.stderr)).toBe(0);
    const text = String(status.stdout);
    expect(text).toContain(`127.0.0.1:${ports.short}`);
    expect(text).toContain(`127.0.0.1:${ports.long}`);
    expect(text).not.toContain(`0.0.0.0:${ports.short}`);
  });
});
