/**
 * Faults 18-20, guarantee 13 (reliability.md): the engine disappears or stops answering in the
 * middle of `envctl up` (a relay socket the test owns sits between envctl and the real engine). The
 * run ends with exit 3 and a message naming the engine and the operation, well within the call
 * timeout; what it created is labelled; the next `up` against the real engine converges. A socket
 * the user may not open is refused at once with the socket and the fix.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { startRelay } from './relay.js';
import { BASE_IMAGE, containersOf, envctlIn, faultProject, labelledOf, relayScaffold } from './support.js';

const fx = relayScaffold('engine');

async function definition(what: string): Promise<string> {
  const project = faultProject(what);
  fx.projects.push(project);
  await writeFile(
    join(fx.dir, 'envctl.yaml'),
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
  const again = await envctlIn(fx.dir, ['up', '--wait-timeout', '60s']);
  expect(again.exitCode, String(again.stderr)).toBe(0);
  expect((await containersOf(project)).map((container) => [container.name, container.state])).toEqual([
    [`${project}-a`, 'running'],
    [`${project}-b`, 'running'],
  ]);
  expect((await envctlIn(fx.dir, ['down'])).exitCode).toBe(0);
  expect(await labelledOf(project)).toEqual([]);
}

describe('an engine that goes away mid-run', () => {
  it('closed after the second container create: exit 3 naming the engine; the next up converges', async () => {
    const project = await definition('engine-close');
    fx.relay = await startRelay(fx.dir, { mode: 'close', after: /^POST \S*\/containers\/create/, count: 2 });
    const run = await envctlIn(fx.dir, ['up', '--wait-timeout', '60s'], { DOCKER_HOST: fx.relay.dockerHost });
    expect(fx.relay.fired(), fx.relay.requests.join('\n')).toBe(true);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toMatch(new RegExp(`(cannot reach|no Docker engine at|refused the connection).*${fx.relay.socketPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(String(run.stderr)).not.toMatch(/\n\s+at /); // no stack trace
    // The engine made the second container although envctl never heard back.
    expect((await containersOf(project)).map((container) => container.name)).toEqual([`${project}-a`, `${project}-b`]);
    await fx.relay.close();
    fx.relay = undefined;
    await expectConvergesAfterwards(project);
  });

  it('hanging on a container start: exit 3 at the call timeout, naming the stuck operation; the next up converges', async () => {
    const project = await definition('engine-hang');
    fx.relay = await startRelay(fx.dir, { mode: 'hang', after: /^POST \S*\/containers\/\S+\/start/, count: 1 });
    const run = await envctlIn(fx.dir, ['up', '--wait-timeout', '60s'], { DOCKER_HOST: fx.relay.dockerHost, ENVCTL_ENGINE_TIMEOUT_MS: '3000' }, 60_000);
    expect(fx.relay.fired(), fx.relay.requests.join('\n')).toBe(true);
    expect(run.timedOut, 'envctl exited by itself').toBe(false);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toMatch(/did not answer: start container [0-9a-f]{12} took longer than 3 s/);
    await fx.relay.close();
    fx.relay = undefined;
    await expectConvergesAfterwards(project);
  });

  // Root passes every permission check: the run drops to an unprivileged user (setpriv) against a relay socket only root may open.
  it.runIf(process.getuid?.() === 0)('a socket without permission: exit 3 naming the socket and the docker group, no stack trace', async () => {
    await definition('engine-denied');
    fx.relay = await startRelay(fx.dir, { mode: 'pass' });
    await chmod(fx.relay.socketPath, 0o600);
    await chmod(fx.dir, 0o755);
    const run = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'status'], {
      cwd: fx.dir,
      env: { CI: 'true', NO_COLOR: '1', HOME: fx.dir, DOCKER_HOST: fx.relay.dockerHost },
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toContain(`permission denied on ${fx.relay.dockerHost}`);
    expect(String(run.stderr)).toContain('add your user to the docker group');
    expect(String(run.stderr)).not.toMatch(/\n\s+at /);
    expect(fx.relay.requests).toEqual([]);
  });

  it('hanging from the first request: exit 3 from the ping (an engine that never answers)', async () => {
    await definition('engine-mute');
    fx.relay = await startRelay(fx.dir, { mode: 'hang', after: /_ping/, count: 1 });
    const run = await envctlIn(fx.dir, ['up'], { DOCKER_HOST: fx.relay.dockerHost }, 30_000);
    expect(run.timedOut, 'envctl exited by itself').toBe(false);
    expect(run.exitCode, String(run.stderr)).toBe(3);
    expect(String(run.stderr)).toContain('did not answer: ping took longer than 2 s');
  });
});
