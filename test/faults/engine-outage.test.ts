/**
 * Faults 18-20, guarantee 13 (reliability.md): the engine disappears or stops answering in the
 * middle of `envctl up` (a relay socket the test owns sits between envctl and the real engine). The
 * run ends with exit 3 and a message naming the engine and the operation, well within the call
 * timeout; what it created is labelled; the next `up` against the real engine converges.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type Relay } from './relay.js';
import { BASE_IMAGE, containersOf, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
let relay: Relay | undefined;
const projects: string[] = [];

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('engine'));
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});
afterAll(async () => {
  for (const project of projects) await removeProject(project);
  await cleanup();
});

async function definition(what: string): Promise<string> {
  const project = faultProject(what);
  projects.push(project);
  await writeFile(
    join(dir, 'envctl.yaml'),
    `
name: ${project}
services:
  a:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
  b:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    depends_on: [a]
`,
  );
  return project;
}

async function expectConvergesAfterwards(project: string): Promise<void> {
  // Everything the interrupted run created carries the environment's labels.
  for (const container of await containersOf(project)) expect(container.labels['dev.envctl.env']).toBe('default');
  const again = await envctlIn(dir, ['up', '--wait-timeout', '60s']);
  expect(again.exitCode, String(again.stderr)).toBe(0);
  expect((await containersOf(project)).map((container) => [container.name, container.state])).toEqual([
    [`${project}-a`, 'running'],
    [`${project}-b`, 'running'],
  ]);
  expect((await envctlIn(dir, ['down'])).exitCode).toBe(0);
  expect(await labelledOf(project)).toEqual([]);
}

describe('an engine that goes away mid-run', () => {
  it('closed after the second container create: exit 3 naming the engine; the next up converges', async () => {
    const project = await definition('engine-close');
    relay = await startRelay(dir, { mode: 'close', after: /^POST \S*\/containers\/create/, count: 2 });
    const run = await envctlIn(dir, ['up', '--wait-timeout', '60s'], { DOCKER_HOST: relay.dockerHost });
    expect(relay.fired(), relay.requests.join('\n')).toBe(true);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toMatch(new RegExp(`(cannot reach|no Docker engine at|refused the connection).*${relay.socketPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(String(run.stderr)).not.toMatch(/\n\s+at /); // no stack trace
    // The engine made the second container although envctl never heard back.
    expect((await containersOf(project)).map((container) => container.name)).toEqual([`${project}-a`, `${project}-b`]);
    await relay.close();
    relay = undefined;
    await expectConvergesAfterwards(project);
  });

  it('hanging on a container start: exit 3 at the call timeout, naming the stuck operation; the next up converges', async () => {
    const project = await definition('engine-hang');
    relay = await startRelay(dir, { mode: 'hang', after: /^POST \S*\/containers\/\S+\/start/, count: 1 });
    const run = await envctlIn(dir, ['up', '--wait-timeout', '60s'], { DOCKER_HOST: relay.dockerHost, ENVCTL_ENGINE_TIMEOUT_MS: '3000' }, 60_000);
    expect(relay.fired(), relay.requests.join('\n')).toBe(true);
    expect(run.timedOut, 'envctl exited by itself').toBe(false);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toMatch(/did not answer: start container [0-9a-f]{12} took longer than 3 s/);
    await relay.close();
    relay = undefined;
    await expectConvergesAfterwards(project);
  });

  it('hanging from the first request: exit 3 from the ping (an engine that never answers)', async () => {
    await definition('engine-mute');
    relay = await startRelay(dir, { mode: 'hang', after: /_ping/, count: 1 });
    const run = await envctlIn(dir, ['up'], { DOCKER_HOST: relay.dockerHost }, 30_000);
    expect(run.timedOut, 'envctl exited by itself').toBe(false);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toContain('did not answer: ping took longer than 2 s');
  });
});
