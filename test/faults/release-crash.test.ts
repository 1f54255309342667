/**
 * Guarantees 13 and 15, faults 24-27 (reliability.md), releases: envctl SIGKILLed at the steps of a
 * canary release (ENVCTL_FAULT), or stopped with Ctrl-C, resumes from its persisted state: the proxy keeps serving with
 * healthy backends meanwhile, the step continues, the event log only grows, the ending decided
 * before the kill is the one carried out. A release killed while preparing, and a pipeline killed
 * with its integration environment up, leave only labelled objects that `release resume` and
 * `envctl down` find and remove. A damaged release state is reported and never acted on.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN } from '../support/cli.js';
import { containersOf, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('release');

const SERVER = `import { createServer } from 'node:http';
const version = process.env.VERSION ?? '0';
createServer((request, response) => { request.resume(); response.setHeader('x-version', version); response.end('v' + version); }).listen(3000);
process.on('SIGTERM', () => process.exit(0));
`;
const DOCKERFILE = `FROM envctl/base-node:24
ARG VERSION=1
ENV VERSION=$VERSION
COPY server.mjs /server.mjs
CMD ["node", "/server.mjs"]
`;
const RELEASE = 'steps: [25, 50], stepMinDuration: 3s, stepMinRequests: 60, warmup: { seconds: 2, requests: 10 }, load: { rps: 60 }, latency: { slowThreshold: 500ms }';

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('release'));
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
    healthcheck: { test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:3000/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"], interval: 500ms, retries: 60 }
pipeline:
  release: { service: web, ${RELEASE} }
  integration:
    run: ["true"]
`,
  );
  const up = await envctlIn(dir, ['up', '--wait-timeout', '90s']);
  expect(up.exitCode, String(up.stderr)).toBe(0);
});
afterAll(async () => {
  await removeProject(project);
  await cleanup();
});

interface State {
  id: string;
  status: string;
  step: number;
  weights: { canary: number; baseline: number; prod: number };
  pending: { status: string } | null;
  proxy: { hostPort: number } | null;
}

const releasesDir = () => join(dir, '.envctl', 'releases');
const stateOf = async (id: string) => JSON.parse(await readFile(join(releasesDir(), id, 'state.json'), 'utf8')) as State;
const eventsOf = async (id: string) => (await readFile(join(releasesDir(), id, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean);
async function newestRelease(): Promise<string> {
  const names = (await readdir(releasesDir())).filter((name) => name.startsWith('r-')).sort();
  return names.at(-1)!;
}

/** `count` requests through the proxy: the versions that answered and the failures. */
async function through(port: number, count: number): Promise<{ versions: Record<string, number>; failed: number }> {
  const versions: Record<string, number> = {};
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    if (!response || response.status >= 500) failed++;
    const version = response?.headers.get('x-version') ?? 'none';
    versions[version] = (versions[version] ?? 0) + 1;
    await response?.arrayBuffer();
  }
  return { versions, failed };
}

const release = (args: string[], fault?: string) => envctlIn(dir, ['release', ...args], fault ? { ENVCTL_FAULT: fault } : {}, 180_000);

describe('a release killed at its steps', () => {
  let id: string;

  it('killed while preparing: resume removes what it made; nothing is left that down cannot find', async () => {
    // The same build arguments as the release below: it finds the image built.
    const killed = await release(['start', '--build-arg', 'VERSION=2'], 'release-after-slots');
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    const preparing = await newestRelease();
    expect((await stateOf(preparing)).status).toBe('preparing');
    const made = await containersOf(project, [`${LABEL.release}=${preparing}`]);
    expect(made.map((container) => container.labels[LABEL.slot]).sort()).toEqual(['baseline', 'canary']);
    const resumed = await release(['resume', preparing]);
    expect(resumed.exitCode).toBe(1);
    expect(String(resumed.stderr) + String(resumed.stdout)).toContain('interrupted while preparing');
    expect(await containersOf(project, [`${LABEL.release}=${preparing}`])).toEqual([]);
  });

  it('killed after the proxy took step 2’s weights, then Ctrl-C in step 2, then killed after deciding: the proxy serves on, each resume continues from the persisted state', async () => {
    const killed = await release(['start', '--build-arg', 'VERSION=2'], 'release-after-step-weights@2');
    expect(killed.signal, `${String(killed.stdout)}\n${String(killed.stderr)}`).toBe('SIGKILL');
    id = await newestRelease();
    const state = await stateOf(id);
    expect(state).toMatchObject({ status: 'running', step: 1, weights: { canary: 25, baseline: 25, prod: 50 } });
    // The proxy keeps serving; no request fails while nobody drives the release.
    const served = await through(state.proxy!.hostPort, 30);
    expect(served.failed).toBe(0);
    expect(Object.keys(served.versions).every((version) => version === '1' || version === '2')).toBe(true);
    const before = await eventsOf(id);

    // Ctrl-C during step 2 of the resumed release: it stops with exit 130, the weights persisted and
    // still served, and can be resumed again.
    const interrupted = spawn(process.execPath, [BIN, 'release', 'resume', id], {
      cwd: dir,
      detached: true,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ENVCTL_STATE_HOME: join(dir, '.state') },
      stdio: 'ignore',
    });
    const interruptedExit = new Promise<number | null>((resolve) => interrupted.on('exit', (code) => resolve(code)));
    for (let attempt = 0; attempt < 600 && (await stateOf(id)).step !== 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await stateOf(id)).step).toBe(2);
    process.kill(-interrupted.pid!, 'SIGINT');
    expect(await interruptedExit).toBe(130);
    const stopped = await stateOf(id);
    expect(stopped).toMatchObject({ status: 'running', step: 2, weights: { canary: 50, baseline: 50, prod: 0 }, pending: null });
    expect((await through(stopped.proxy!.hostPort, 20)).failed).toBe(0);

    const second = await release(['resume', id], 'release-after-pending');
    expect(second.signal, `${String(second.stdout)}\n${String(second.stderr)}`).toBe('SIGKILL');
    const pending = await stateOf(id);
    expect(pending.pending?.status).toBe('promoted');
    expect(pending.status).toBe('running');
    expect(pending.step).toBe(2);
    const afterSecond = await eventsOf(id);
    // Append-only: what was there is still there, in order.
    expect(afterSecond.slice(0, before.length)).toEqual(before);
    expect((await through(pending.proxy!.hostPort, 20)).failed).toBe(0);

    const finished = await release(['resume', id, '--json']);
    expect(finished.exitCode, String(finished.stderr)).toBe(0);
    expect(JSON.parse(String(finished.stdout))).toMatchObject({ id, status: 'promoted' });
    const done = await stateOf(id);
    expect(done).toMatchObject({ status: 'promoted', pending: null, weights: { canary: 100, baseline: 0, prod: 0 } });
    expect((await eventsOf(id)).slice(0, afterSecond.length)).toEqual(afterSecond);
    expect(await through(done.proxy!.hostPort, 10)).toEqual({ versions: { '2': 10 }, failed: 0 });
    // Two kills later, the recording still replays to the verdicts the controller reached.
    const replay = await envctlIn(dir, ['release', 'judge', '--replay', id]);
    expect(replay.exitCode, String(replay.stdout) + String(replay.stderr)).toBe(0);
    expect(String(replay.stdout)).toContain('reproduced byte for byte');
  });

  it('a damaged state or history is reported with its path and never acted on', async () => {
    const path = join(releasesDir(), id, 'state.json');
    const whole = await readFile(path, 'utf8');
    const port = (JSON.parse(whole) as State).proxy!.hostPort;
    await writeFile(path, whole.slice(0, 120));
    const containers = (await containersOf(project)).map((container) => container.name);
    const status = await release(['status', id]);
    expect(status.exitCode).toBe(1);
    expect(String(status.stderr)).toContain(`${path} is not JSON`);
    const rollback = await release(['rollback', id]);
    expect(rollback.exitCode).toBe(1);
    expect(String(rollback.stderr)).toContain(path);
    // Nothing moved: the same containers, the proxy still serves the promoted version.
    expect((await containersOf(project)).map((container) => container.name)).toEqual(containers);
    expect(await through(port, 5)).toEqual({ versions: { '2': 5 }, failed: 0 });
    await writeFile(path, whole);

    // A damaged line in the middle of the history is reported with its place, not skipped.
    const eventsPath = join(releasesDir(), id, 'events.jsonl');
    const events = await eventsOf(id);
    const damaged = [...events.slice(0, 2), events[2]!.slice(0, 30), ...events.slice(3)];
    await writeFile(eventsPath, `${damaged.join('\n')}\n`);
    const replay = await envctlIn(dir, ['release', 'judge', '--replay', id]);
    expect(replay.exitCode).toBe(1);
    expect(String(replay.stderr)).toContain(`${eventsPath}:3: not JSON`);
    expect(await eventsOf(id)).toEqual(damaged);
    await writeFile(eventsPath, `${events.join('\n')}\n`);
  });

  it('a pipeline killed with its integration environment up leaves only labelled objects that down removes', async () => {
    const killed = await envctlIn(dir, ['pipeline', '--only', 'integration'], { ENVCTL_FAULT: 'pipeline-after-provision' });
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    const runs = (await readdir(join(dir, '.envctl', 'runs'))).sort();
    const runId = runs.at(-1)!;
    const ephemeral = `${project}-it-${runId.slice(-4)}`;
    const left = await containersOf(ephemeral);
    expect(left.length).toBeGreaterThan(0);
    for (const container of left) expect(container.labels[LABEL.run]).toBe(runId);
    const down = await envctlIn(dir, ['down', '--project-name', ephemeral, '--volumes']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await labelledOf(ephemeral)).toEqual([]);
  });

  it('envctl down removes the release containers with the rest, not held up by an idle client of the proxy', async () => {
    // A keep-alive client that has had its answer and stays connected, idle (guarantee 20).
    const port = (await stateOf(id)).proxy!.hostPort;
    const idle = connect(port, '127.0.0.1');
    let answered = '';
    idle.on('data', (chunk: Buffer) => (answered += chunk.toString()));
    const closed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    idle.on('error', () => undefined);
    idle.write('GET / HTTP/1.1\r\nHost: proxy\r\nConnection: keep-alive\r\n\r\n');
    for (let attempt = 0; attempt < 100 && !answered.includes('v2'); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toContain('HTTP/1.1 200');
    const down = await envctlIn(dir, ['down', '--volumes']);
    await closed;
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
