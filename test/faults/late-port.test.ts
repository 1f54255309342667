/**
 * Guarantee 14 (reliability.md), readiness means really ready: a service that binds its port 3 s
 * after it starts. Its healthcheck probes the in-container port (failures during start_period do
 * not count), so `up` waits instead of failing early: when `up` exits 0 the published host port
 * answers at once, and a dependant (`service_healthy`) that connects to the port a single time
 * when it starts found it listening.
 *
 * Without a healthcheck, the same late port: envctl's own port readiness (src/engine/readiness.ts)
 * holds the service until its published port accepts connections on the host AND the container
 * port listens inside (the engine's userland proxy accepts on the host before anything listens),
 * so a dependant with the default `service_started` connects once and succeeds. A port that never
 * listens ends `up` at the wait timeout with an error naming the service and the port.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { docker, envctlIn, faultProject, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('lateport');
const bare = faultProject('lateportbare');
const never = faultProject('lateportnever');

const LATE_SERVER = "setTimeout(() => require('http').createServer((q, s) => s.end('late-ok')).listen(3000, () => console.log('listening')), 3000)";
const PORT_PROBE = "require('net').connect(3000, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))";
// Connects once: exits 1 (a failed `up`) when the port was not listening yet.
const CLIENT = "require('net').connect(3000, 'late').on('connect', () => { console.log('connected'); setInterval(() => {}, 1e6); }).on('error', (e) => { console.error(e.message); process.exit(1); })";

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('lateport'));
  await writeFile(
    join(dir, 'envctl.yaml'),
    `name: ${project}
services:
  late:
    image: envctl/base-node:24
    command: ["node", "-e", ${JSON.stringify(LATE_SERVER)}]
    ports: ["3000"]
    healthcheck: { test: ["CMD", "node", "-e", ${JSON.stringify(PORT_PROBE)}], interval: 500ms, retries: 2, start_period: 20s, start_interval: 500ms }
  client:
    image: envctl/base-node:24
    command: ["node", "-e", ${JSON.stringify(CLIENT)}]
    depends_on: { late: { condition: service_healthy } }
`,
  );
  // No healthcheck: envctl's port readiness alone decides.
  await writeFile(
    join(dir, 'bare.yaml'),
    `name: ${bare}
services:
  late:
    image: envctl/base-node:24
    command: ["node", "-e", ${JSON.stringify(LATE_SERVER)}]
    ports: ["3000"]
  client:
    image: envctl/base-node:24
    command: ["node", "-e", ${JSON.stringify(CLIENT)}]
    depends_on: [late]
`,
  );
  await writeFile(
    join(dir, 'never.yaml'),
    `name: ${never}
services:
  late:
    image: envctl/base-node:24
    command: ["node", "-e", "setInterval(() => {}, 1e6)"]
    ports: ["3000"]
`,
  );
});
afterAll(async () => {
  await removeProject(bare);
  await removeProject(never);
  await removeProject(project);
  await cleanup();
});

describe('a port that binds late inside the container', () => {
  it('up waits for it (no early failure); when up exits 0 the host port answers and the dependant found it listening', async () => {
    const up = await envctlIn(dir, ['up', '--wait-timeout', '60s']);
    expect(up.exitCode, String(up.stderr)).toBe(0);

    const [late] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=late`] } });
    const published = late!.Ports.find((port) => port.PrivatePort === 3000 && port.PublicPort)!.PublicPort;
    const response = await fetch(`http://127.0.0.1:${published}/`);
    expect(await response.text()).toBe('late-ok');

    // The healthcheck failed while the port was closed, then passed: up waited through the failures.
    const inspected = await docker.getContainer(late!.Id).inspect();
    const probes = inspected.State.Health?.Log ?? [];
    expect(inspected.State.Health?.Status).toBe('healthy');
    expect(probes.some((probe) => probe.ExitCode !== 0)).toBe(true);
    expect(probes.at(-1)?.ExitCode).toBe(0);

    const [client] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=client`] } });
    expect(client?.State).toBe('running');
    const logs = (await docker.getContainer(client!.Id).logs({ stdout: true, stderr: true })).toString();
    expect(logs).toContain('connected');
  });
});

describe('a port that binds late, no healthcheck', () => {
  it('up waits until the host port answers and the container port listens; the service_started dependant connects once and succeeds', async () => {
    const up = await envctlIn(dir, ['up', '-f', 'bare.yaml', '--wait-timeout', '60s']);
    expect(up.exitCode, String(up.stderr)).toBe(0);

    const [late] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${bare}`, `${LABEL.service}=late`] } });
    const published = late!.Ports.find((port) => port.PrivatePort === 3000 && port.PublicPort)!.PublicPort;
    const response = await fetch(`http://127.0.0.1:${published}/`);
    expect(await response.text()).toBe('late-ok');

    const [client] = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${bare}`, `${LABEL.service}=client`] } });
    expect(client?.State, (await docker.getContainer(client!.Id).logs({ stdout: true, stderr: true })).toString()).toBe('running');
    const logs = (await docker.getContainer(client!.Id).logs({ stdout: true, stderr: true })).toString();
    expect(logs).toContain('connected');
  });

  it('a port that never listens ends up at the wait timeout, naming the service and the port', async () => {
    const up = await envctlIn(dir, ['up', '-f', 'never.yaml', '--wait-timeout', '6s']);
    expect(up.exitCode, String(up.stderr)).toBe(1);
    expect(String(up.stderr)).toMatch(/late: not ready after 6s: port 3000\/tcp does not listen inside the container \(published on 127\.0\.0\.1:\d+\)/);
  });
});
