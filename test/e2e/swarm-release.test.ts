/**
 * A release on the swarm target through the built CLI, on a real single-node swarm (issue 8): a
 * demo-like web service deployed with `up --target swarm`; `release start` finds the stack by
 * itself and runs the canary, a fresh baseline and the weighted proxy as services of the stack,
 * with the built-in HTTP load through the proxy's published port. A healthy version is promoted
 * (the canary service then answers 100% on 127.0.0.1), a version answering 5xx is rolled back by
 * the judge (exit 1, production 100%), and `down --target swarm` removes every service, network,
 * secret and config, release services included.
 *
 * As the swarm e2e: the test initialises the swarm only if the engine is in none, and leaves it
 * only then; no IPVS here, so `endpoint_mode: dnsrr` and host-mode ports. Short steps (one step at
 * 50%, 150 requests per arm after a 10 s warm-up), so each release takes well under a minute.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BIN, envctl } from '../support/cli.js';
import { docker, uniqueProject } from '../support/docker.js';
import { eventually, freeLoopbackPort as freePort, removeSwarmProject, testSwarm } from '../support/swarm.js';

let dir: string;
let project: string;
let port: number;
const swarm = testSwarm();

const byProject = () => ({ label: [`${LABEL.project}=${project}`] });
// A practical latency effect of 50 ms and a fixed slow threshold: on a loaded 2-core machine a stall
// of one task makes one arm look slower for a moment; these releases test promotion, rollback on
// errors, resume and gc (the latency tests are covered by the judge's simulations).
const FAST = 'steps: [50], stepMinDuration: 5s, stepMinRequests: 150, warmup: { seconds: 10, requests: 20 }, load: { rps: 60 }, latency: { slowThreshold: 500ms, minShiftMs: 50 }';

/** The demo web's behaviour in a few lines: its version in a header, a share of 5xx with WEB_FAULT=errors. */
const SERVER = [
  "const http = require('http');",
  "const version = process.env.WEB_VERSION; const faulty = process.env.WEB_FAULT === 'errors'; let n = 0;",
  "console.log('web ' + version + ' listening');",
  'http.createServer((req, res) => {',
  "  res.setHeader('x-demo-version', version);",
  "  if (req.url === '/healthz') return res.end('ok');",
  "  if (faulty && n++ % 2 === 0) { res.statusCode = 500; return res.end('broken'); }",
  "  res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ version }));",
  '}).listen(3000);',
].join('\n');

const definition = () => `
name: ${project}
services:
  web:
    build: ./web
    ports:
      - { target: 3000, published: ${port}, mode: host }
    configs: [{ source: greeting, target: /etc/greeting.txt }]
    secrets: [token]
    healthcheck:
      test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
      interval: 1s
      timeout: 3s
      retries: 30
    deploy:
      endpoint_mode: dnsrr
configs:
  greeting: { file: ./greeting.txt }
secrets:
  token: { file: ./token.txt }
pipeline:
  release: { service: web, ${FAST} }
`;

interface Outcome {
  id: string;
  status: string;
  exitCode: number;
  message: string;
  proxyPort: number | null;
  verdict: { action: string; reasons: Array<{ code: string; message: string }> } | null;
}

async function release(args: readonly string[]) {
  const result = await envctl(['release', ...args, '--json'], { cwd: dir, env: { CI: 'true' } });
  return { exitCode: result.exitCode, stderr: String(result.stderr), outcome: JSON.parse(String(result.stdout)) as Outcome };
}

async function versions(url: string, count: number): Promise<{ versions: Map<string, number>; failed: number }> {
  const seen = new Map<string, number>();
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const response = await fetch(url).catch(() => undefined);
    if (!response || response.status >= 500) failed++;
    const version = response?.headers.get('x-demo-version') ?? 'none';
    seen.set(version, (seen.get(version) ?? 0) + 1);
    await response?.arrayBuffer();
  }
  return { versions: seen, failed };
}

/** The release's swarm services by slot (`dev.envctl.slot`). */
async function releaseServices(id: string): Promise<string[]> {
  const services = await docker.listServices({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.release}=${id}`] } });
  return services.map((service) => service.Spec?.Labels?.[LABEL.slot] ?? '?').sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-swrel-'));
  project = uniqueProject('swrel');
  port = await freePort();
  await writeFile(join(dir, 'greeting.txt'), 'hello\n');
  await writeFile(join(dir, 'token.txt'), 'not-a-real-token-456');
  await writeFile(join(dir, 'envctl.yaml'), definition());
  await mkdir(join(dir, 'web'));
  await writeFile(
    join(dir, 'web', 'Dockerfile'),
    'FROM envctl/base-node:24\nARG WEB_VERSION=1\nARG WEB_FAULT=none\nENV WEB_VERSION=$WEB_VERSION WEB_FAULT=$WEB_FAULT\nWORKDIR /app\nCOPY server.js ./\nCMD ["node", "server.js"]\n',
  );
  await writeFile(join(dir, 'web', 'server.js'), SERVER);
  await swarm.prepare();
  if (swarm.wasInactive) {
    // Outside a swarm, a release told to run there says what to do (exit 3) and builds nothing.
    const refused = await envctl(['release', 'start', '--target', 'swarm'], { cwd: dir, env: { CI: 'true' } });
    expect(refused.exitCode).toBe(3);
    expect(String(refused.stderr)).toContain('docker swarm init');
  }
  await swarm.join();
  const up = await envctl(['up', '--target', 'swarm', '--json'], { cwd: dir });
  expect(up.exitCode, String(up.stderr)).toBe(0);
}, 240_000);

afterAll(async () => {
  await removeSwarmProject(project).catch(() => undefined);
  await swarm.leave();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('envctl release on the swarm target', () => {
  let promoted: Outcome;

  it('promotes a healthy version: canary, baseline and proxy are services of the stack, and the canary then serves 100%', async () => {
    // No --target: the stack is found as status, logs and down find it.
    const { exitCode, outcome, stderr } = await release(['start', '--build-arg', 'WEB_VERSION=2']);
    expect(exitCode, `${JSON.stringify(outcome)}\n${stderr}`).toBe(0);
    expect(outcome.status).toBe('promoted');
    expect(outcome.verdict?.action).toBe('advance');
    promoted = outcome;
    const state = JSON.parse(await readFile(join(dir, '.envctl', 'releases', outcome.id, 'state.json'), 'utf8')) as { target?: string; containers: { canary: { name: string }; proxy: { name: string } } };
    expect(state.target).toBe('swarm');
    expect(state.containers.canary.name).toBe(`${project}_web-canary-${outcome.id.slice(-4)}`);

    // The judge saw real traffic in both arms, through the proxy service.
    const events = (await readFile(join(dir, '.envctl', 'releases', outcome.id, 'events.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { event: string; stats?: { analysed: { canary: number; baseline: number } } });
    const verdict = events.filter((event) => event.event === 'verdict').at(-1)!;
    expect(verdict.stats!.analysed.canary).toBeGreaterThanOrEqual(150);
    expect(verdict.stats!.analysed.baseline).toBeGreaterThanOrEqual(150);

    expect(await versions(`http://127.0.0.1:${outcome.proxyPort}/`, 20)).toEqual({ versions: new Map([['2', 20]]), failed: 0 });
    // The baseline service is gone; the canary (now production) and the proxy remain, as swarm services.
    expect(await releaseServices(outcome.id)).toEqual(['canary', 'proxy']);
    const proxy = (await docker.listServices({ filters: { label: [`${LABEL.release}=${outcome.id}`, `${LABEL.slot}=proxy`] } }))[0]!;
    expect(proxy.Spec?.EndpointSpec?.Ports).toEqual([expect.objectContaining({ TargetPort: 8080, PublishedPort: outcome.proxyPort, PublishMode: 'host' })]);
    expect(proxy.Spec?.TaskTemplate?.Placement?.Constraints).toEqual([`node.id==${(await docker.info()).Swarm?.NodeID}`]);
    // The stack's own service still answers on its own port (idle production, kept for rollback).
    expect((await versions(`http://127.0.0.1:${port}/`, 3)).versions).toEqual(new Map([['1', 3]]));
    const text = await envctl(['release', 'status', outcome.id], { cwd: dir });
    expect(String(text.stdout)).toContain(`target    swarm (services ${project}_web-canary-${outcome.id.slice(-4)}, ${project}_web-proxy-${outcome.id.slice(-4)})`);
    // `status --target swarm` shows the definition's service only; the release's are the release's.
    const status = await envctl(['status', '--target', 'swarm', '--json'], { cwd: dir });
    expect(JSON.parse(String(status.stdout)).services.map((service: { service: string }) => service.service)).toEqual(['web']);
  }, 300_000);

  it('rolls a version that answers 5xx back by itself (exit 1): production serves 100% again', async () => {
    const { exitCode, outcome, stderr } = await release(['start', '--target', 'swarm', '--build-arg', 'WEB_VERSION=3', '--build-arg', 'WEB_FAULT=errors']);
    expect(exitCode, `${JSON.stringify(outcome)}\n${stderr}`).toBe(1);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.verdict?.action).toBe('rollback');
    expect(outcome.verdict?.reasons.map((reason) => reason.message).join(' ')).toMatch(/error|bad|5xx|consecutive/i);
    // The same way in (the previous release's port), production only: version 2, the promoted canary.
    expect(outcome.proxyPort).toBe(promoted.proxyPort);
    expect(await versions(`http://127.0.0.1:${outcome.proxyPort}/`, 20)).toEqual({ versions: new Map([['2', 20]]), failed: 0 });
    expect(await releaseServices(outcome.id)).toEqual(['proxy']);
    // The previous release's proxy service went when this one took over.
    expect(await releaseServices(promoted.id)).toEqual(['canary']);
  }, 300_000);

  it('rolls a promotion back with one weight flip (no failed request), resumes a killed release, and gc removes the previous version’s service', async () => {
    const third = await release(['start', '--build-arg', 'WEB_VERSION=3']);
    expect(third.exitCode, `${JSON.stringify(third.outcome)}\n${third.stderr}`).toBe(0);
    const port = third.outcome.proxyPort!;
    expect((await versions(`http://127.0.0.1:${port}/`, 10)).versions).toEqual(new Map([['3', 10]]));
    // Back to version 2 (the first release's canary service) while requests flow.
    let stop = false;
    const traffic = (async () => {
      let failed = 0;
      while (!stop) failed += (await versions(`http://127.0.0.1:${port}/`, 5)).failed;
      return failed;
    })();
    const rollback = await release(['rollback', third.outcome.id]);
    stop = true;
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(await traffic).toBe(0);
    expect(await versions(`http://127.0.0.1:${port}/`, 10)).toEqual({ versions: new Map([['2', 10]]), failed: 0 });
    expect(await releaseServices(third.outcome.id)).toEqual(['proxy']);

    // Promoted again, by a controller killed mid-step and resumed: the proxy service kept serving
    // the step's weights meanwhile. The version before it is the first release's canary service.
    const releases = join(dir, '.envctl', 'releases');
    const before = new Set(await readdir(releases));
    const child = execa(process.execPath, [BIN, 'release', 'start', '--build-arg', 'WEB_VERSION=4'], { cwd: dir, env: { NO_COLOR: '1', CI: 'true' }, reject: false, stdin: 'ignore' });
    const id = await eventually(async () => {
      for (const name of (await readdir(releases)).filter((entry) => !before.has(entry))) {
        const state = JSON.parse(await readFile(join(releases, name, 'state.json'), 'utf8')) as { status: string; step: number };
        if (state.status === 'running' && state.step === 1) return name;
      }
      return undefined;
    }, 120_000, 'the fourth release to reach its step');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    child.kill('SIGKILL');
    // Swarm cannot bind 127.0.0.1 (the local proxy does): the user was told the port is exposed.
    expect(String((await child).stderr)).toContain(`the proxy's port ${port} is published on every interface of this node`);
    const during = await versions(`http://127.0.0.1:${port}/`, 20);
    expect(during.failed).toBe(0);
    expect([...during.versions.keys()].sort()).toEqual(['2', '4']);
    const fourth = await release(['resume', id]);
    expect(fourth.exitCode, `${JSON.stringify(fourth.outcome)}\n${fourth.stderr}`).toBe(0);
    expect(fourth.outcome.status).toBe('promoted');
    expect(await releaseServices(promoted.id)).toEqual(['canary']);
    const gc = await envctl(['release', 'gc', '--all', '--json'], { cwd: dir, env: { CI: 'true' } });
    expect(gc.exitCode, String(gc.stderr)).toBe(0);
    expect(JSON.parse(String(gc.stdout)).decommissioned).toEqual([{ id: fourth.outcome.id, container: `${project}_web-canary-${promoted.id.slice(-4)}` }]);
    expect(await releaseServices(promoted.id)).toEqual([]);
    expect(await versions(`http://127.0.0.1:${port}/`, 10)).toEqual({ versions: new Map([['4', 10]]), failed: 0 });
  }, 300_000);

  it('down --target swarm removes the stack with the release services: no service, network, secret or config left', async () => {
    const down = await envctl(['down', '--target', 'swarm', '--json'], { cwd: dir });
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await docker.listServices({ filters: byProject() })).toEqual([]);
    expect(await docker.listNetworks({ filters: byProject() })).toEqual([]);
    expect(await docker.listSecrets({ filters: byProject() })).toEqual([]);
    expect(await docker.listConfigs({ filters: byProject() })).toEqual([]);
    await eventually(async () => ((await docker.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${project}`] } })).length === 0 ? true : undefined), 60_000, 'task containers to go');
  }, 180_000);
});
