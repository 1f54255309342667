/**
 * Guarantee 18 (reliability.md), a stalled rollout ends: a canary whose healthcheck never passes
 * is never routed to (no step is ever applied; the proxy serves production only) and the release
 * ends by itself, rolled back with the reason, exit 1 — at once when it turns unhealthy, at
 * `readyTimeout` when it stays `starting`; its release containers are removed and production keeps
 * running.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { containersOf, envctlIn, faultProject, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('stall');

const SERVER = `import { createServer } from 'node:http';
createServer((request, response) => { request.resume(); response.setHeader('x-version', process.env.VERSION); response.end('ok'); }).listen(3000);
process.on('SIGTERM', () => process.exit(0));
`;
// The new version answers requests, but its healthcheck never passes (HEALTHY=0).
const DOCKERFILE = `FROM envctl/base-node:24
ARG VERSION=1
ARG HEALTHY=1
ENV VERSION=$VERSION HEALTHY=$HEALTHY
COPY server.mjs /server.mjs
CMD ["node", "/server.mjs"]
`;

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('stall'));
  await mkdir(join(dir, 'web'));
  await writeFile(join(dir, 'web', 'server.mjs'), SERVER);
  await writeFile(join(dir, 'web', 'Dockerfile'), DOCKERFILE);
  await writeFile(
    join(dir, 'envctl.yaml'),
    `name: ${project}
services:
  web:
    build: ./web
    expose: ["3000"]
    healthcheck: { test: ["CMD", "node", "-e", "process.exit(process.env.HEALTHY === '1' ? 0 : 1)"], interval: 500ms, retries: 3 }
pipeline:
  release: { service: web, steps: [50], stepMinDuration: 2s, stepMinRequests: 20, warmup: { seconds: 1, requests: 5 }, load: { rps: 30 } }
`,
  );
  // The same service whose failing probes never count (a long start_period): the canary stays `starting`, ended by readyTimeout.
  await writeFile(
    join(dir, 'stalled.yaml'),
    `name: ${project}
services:
  web:
    build: ./web
    expose: ["3000"]
    healthcheck: { test: ["CMD", "node", "-e", "process.exit(process.env.HEALTHY === '1' ? 0 : 1)"], interval: 500ms, retries: 3, start_period: 5m }
pipeline:
  release: { service: web, steps: [50], readyTimeout: 3s, stepMinDuration: 2s, stepMinRequests: 20, warmup: { seconds: 1, requests: 5 }, load: { rps: 30 } }
`,
  );
  const up = await envctlIn(dir, ['up', '--wait-timeout', '90s']);
  expect(up.exitCode, String(up.stderr)).toBe(0);
});
afterAll(async () => {
  await removeProject(project);
  await cleanup();
});

describe('a canary that never becomes ready', () => {
  it('is never routed to; the release rolls back by itself with the reason, exit 1', async () => {
    const production = await containersOf(project);
    expect(production.map((container) => container.state)).toEqual(['running']);

    const started = await envctlIn(dir, ['release', 'start', '--build-arg', 'VERSION=2', '--build-arg', 'HEALTHY=0', '--json'], {}, 180_000);
    expect(started.exitCode, String(started.stderr)).toBe(1);
    const outcome = JSON.parse(String(started.stdout)) as { id: string; status: string; message: string; proxyPort: number | null };
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.message).toMatch(/the canary did not become ready: release container \S+ unhealthy/);

    // Persisted: the state says how it ended, and no step (no weight for the canary) was ever taken.
    const releaseDir = join(dir, '.envctl', 'releases', outcome.id);
    const state = JSON.parse(await readFile(join(releaseDir, 'state.json'), 'utf8')) as { status: string; outcome: string; step: number; weights: { canary: number } };
    expect(state).toMatchObject({ status: 'rolled-back', step: 0, weights: { canary: 0 } });
    expect(state.outcome).toContain('unhealthy');
    const events = (await readFile(join(releaseDir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type?: string; event?: string });
    const kinds = events.map((event) => event.type ?? event.event);
    expect(kinds).not.toContain('step');
    expect(kinds.at(-1)).toBe('rolled-back');

    // The canary and baseline are gone; production is the same container, still running.
    const left = await containersOf(project, [`${LABEL.release}=${outcome.id}`]);
    expect(left.map((container) => container.labels[LABEL.slot])).toEqual(['proxy']);
    expect(await containersOf(project, [`${LABEL.slot}=canary`])).toEqual([]);
    const after = (await containersOf(project)).filter((container) => !container.labels[LABEL.slot]);
    expect(after.map((container) => [container.name, container.state])).toEqual(production.map((container) => [container.name, 'running']));

    // The release's proxy stays (the way in from release to release) and answers from production only.
    expect(outcome.proxyPort).not.toBeNull();
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`http://127.0.0.1:${outcome.proxyPort}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-version')).toBe('1');
      await response.arrayBuffer();
    }
    expect((await readdir(join(dir, '.envctl', 'releases'))).filter((name) => name.startsWith('r-'))).toEqual([outcome.id]);
  });

  it('stuck `starting` (its probes never count): rolled back at readyTimeout with the reason, no step taken', async () => {
    const started = await envctlIn(dir, ['release', 'start', '-f', 'stalled.yaml', '--build-arg', 'VERSION=3', '--build-arg', 'HEALTHY=0', '--json'], {}, 180_000);
    expect(started.exitCode, String(started.stderr)).toBe(1);
    const outcome = JSON.parse(String(started.stdout)) as { id: string; status: string; message: string; proxyPort: number | null };
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.message).toMatch(/the canary did not become ready: release container \S+ was not ready within 3 s \(running, starting\)/);
    const releaseDir = join(dir, '.envctl', 'releases', outcome.id);
    const state = JSON.parse(await readFile(join(releaseDir, 'state.json'), 'utf8')) as { status: string; step: number; weights: { canary: number } };
    expect(state).toMatchObject({ status: 'rolled-back', step: 0, weights: { canary: 0 } });
    const kinds = (await readFile(join(releaseDir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { event: string }).event);
    expect(kinds).toEqual(['started', 'proxy', 'rolled-back']);
    expect(await containersOf(project, [`${LABEL.slot}=canary`])).toEqual([]);
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`http://127.0.0.1:${outcome.proxyPort}/`);
      expect(response.headers.get('x-version')).toBe('1');
      await response.arrayBuffer();
    }
  });
});
