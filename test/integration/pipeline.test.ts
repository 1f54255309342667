/**
 * The pipeline runner on the real engine with a small fixture project: the whole pipeline passes
 * (and a second run reuses the images), each stage can fail the run with the right stage and check
 * named, records are written, and no ephemeral environment outlives its run.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/cli/cancellation.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import type { EnvctlEvent, PipelineEvent } from '../../src/events.js';
import { LABEL } from '../../src/labels.js';
import { runPipeline, type PipelineResult } from '../../src/pipeline/runner.js';
import { readRunRecord } from '../../src/state/runs.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

const engine = DockerEngine.fromEnv(process.env);
let dir: string;
let project: string;

const SERVER = `
const http = require('node:http');
const delay = Number(process.env.DELAY_MS || 0);
http.createServer((req, res) => {
  setTimeout(() => {
    if (req.url === '/healthz') { res.writeHead(200); res.end('ok'); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ greeting: process.env.GREETING || 'none' }));
  }, req.url === '/healthz' ? 0 : delay);
}).listen(3000);
process.on('SIGTERM', () => process.exit(0));
`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-pipeline-'));
  project = uniqueProject('pipe');
  await writeFile(join(dir, 'server.js'), SERVER);
  await writeFile(join(dir, 'Dockerfile'), 'FROM envctl/base-node:24\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n');
  await writeFile(join(dir, 'check-url.mjs'), "const response = await fetch(`${process.env.ENVCTL_URL_APP}/`);\nconst body = await response.json();\nconsole.log('integration saw', JSON.stringify(body));\nprocess.exit(body.greeting === 'hello' ? 0 : 1);\n");
});
afterEach(async () => {
  // Every environment of the run: its ephemeral ones (kept on failure), staging, then the project
  // itself, whose built images they use.
  const runContainers = await docker.listContainers({ all: true, filters: { label: [LABEL.run] } });
  for (const container of runContainers.filter((candidate) => candidate.Labels[LABEL.project]?.startsWith(project))) await removeProject(container.Labels[LABEL.project]!);
  for (const suffix of ['-staging', '']) await removeProject(`${project}${suffix}`);
  await rm(dir, { recursive: true, force: true });
});

function definition(pipeline: string, options: { delayMs?: number; greeting?: string } = {}): string {
  return `name: ${project}
services:
  app:
    build: .
    ports: ["127.0.0.1::3000"]
    environment: { GREETING: ${options.greeting ?? 'hello'}, DELAY_MS: "${options.delayMs ?? 0}" }
    volumes: ["data:/data"]
    healthcheck: { test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:3000/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"], interval: 500ms, retries: 40 }
volumes: { data: {} }
pipeline:
${pipeline}`;
}

async function run(yaml: string, options: { only?: 'build' | 'integration' | 'perf' | 'staging'; signal?: AbortSignal; keepOnFailure?: boolean } = {}): Promise<{ result: PipelineResult; events: Array<EnvctlEvent | PipelineEvent> }> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  const events: Array<EnvctlEvent | PipelineEvent> = [];
  const result = await runPipeline({
    load: { cwd: dir, file, processEnv: {} },
    engine,
    only: options.only,
    keepOnFailure: options.keepOnFailure ?? false,
    ci: true,
    emit: (event) => events.push(event),
    signal: options.signal ?? new AbortController().signal,
    now: Date.now,
    sleep,
    random: Math.random,
    waitTimeoutMs: 60_000,
  });
  return { result, events };
}

async function runLeftovers(runId: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL.run}=${runId}`] } });
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL.run}=${runId}`] } });
  return [...containers.map((container) => container.Names[0]!), ...networks.map((network) => network.Name)];
}

const stageStatuses = (result: PipelineResult) => result.record.stages.map((stage) => `${stage.name}:${stage.status}`);

describe('envctl pipeline (runner)', () => {
  it('runs build → integration → perf → staging, records the run, and reuses unchanged images next time', async () => {
    const yaml = definition(`  build: { run: ["node", "-e", "console.log('unit tests pass')"] }
  integration: { run: ["node", "check-url.mjs"] }
  perf: { target: app, path: /, duration: 1s, connections: 2, thresholds: { p95: 2s, errors: 1% } }
  staging:
    timeout: 10s
    checks:
      - port: app:3000
      - http: app:/healthz
        contains: ok
      - env: app:GREETING
        value: hello
      - mount: app:/data
        mode: rw
      - command: app
        run: ["node", "-e", "console.log(process.version)"]
        contains: v24
`);
    const first = await run(yaml);
    expect(stageStatuses(first.result)).toEqual(['build:passed', 'integration:passed', 'perf:passed', 'staging:passed']);
    expect(first.result.status).toBe('passed');
    const output = first.events.filter((event): event is Extract<PipelineEvent, { type: 'stage-output' }> => event.type === 'stage-output').map((event) => event.line);
    expect(output).toEqual(expect.arrayContaining(['unit tests pass', 'integration saw {"greeting":"hello"}', 'regression not judged yet: 0 of 3 passing runs recorded']));
    expect(first.result.record.stages.find((stage) => stage.name === 'perf')!.figures).toMatchObject({ requests: expect.any(Number), latencyMs: expect.any(Object) });
    expect(first.result.record.images.app).toMatch(new RegExp(`^${project}-app:[0-9a-f]{12}$`));
    const stored = await readRunRecord(dir, first.result.runId);
    expect(stored).toMatchObject({ ok: true, record: { status: 'passed', id: first.result.runId } });
    expect(await runLeftovers(first.result.runId)).toEqual([]);

    const second = await run(yaml, { only: 'build' });
    expect(second.result.record.stages[0]!.results.find((result) => result.name === 'image app')!.detail).toBe(`unchanged (${first.result.record.images.app})`);
  });

  it('fails the build stage on a failing unit test and skips the rest', async () => {
    const { result } = await run(definition(`  build: { run: ["node", "-e", "console.error('1 test failed: adds numbers'); process.exit(1)"] }
  integration: { run: ["node", "check-url.mjs"] }
`));
    expect(result.status).toBe('failed');
    expect(result.failedStage).toBe('build');
    expect(stageStatuses(result)).toEqual(['build:failed', 'integration:skipped']);
    expect(result.record.stages[0]!.outputTail).toContain('1 test failed: adds numbers');
  });

  it('fails the integration stage on a failing test and removes its environment', async () => {
    const { result } = await run(definition('  integration: { run: ["node", "check-url.mjs"] }\n', { greeting: 'wrong' }));
    expect(result.failedStage).toBe('integration');
    expect(result.failedCheck).toBe('node check-url.mjs');
    expect(result.record.stages[1]!.outputTail).toContain('integration saw {"greeting":"wrong"}');
    expect(await runLeftovers(result.runId)).toEqual([]);
  });

  it('runs stage commands inside a service image, reaching the services by name on the environment network', async () => {
    const { result, events } = await run(
      definition(`  build: { service: app, run: ["node", "-e", "console.log('in image', process.version)"] }
  integration: { service: app, run: ["node", "-e", "fetch(process.env.ENVCTL_URL_APP).then(r => r.json()).then(b => { console.log('in network', b.greeting); process.exit(b.greeting === 'hello' ? 0 : 1) })"] }
`),
    );
    expect(stageStatuses(result)).toEqual(['build:passed', 'integration:passed']);
    const output = events.filter((event): event is Extract<PipelineEvent, { type: 'stage-output' }> => event.type === 'stage-output').map((event) => event.line);
    expect(output).toEqual(expect.arrayContaining([expect.stringMatching(/^in image v24\./), 'in network hello']));
    expect(await runLeftovers(result.runId)).toEqual([]);
  });

  it('keeps a failed integration environment with --keep-on-failure and says how to reach it', async () => {
    const { result } = await run(definition('  integration: { run: ["node", "check-url.mjs"] }\n', { greeting: 'wrong' }), { keepOnFailure: true });
    expect(result.failedStage).toBe('integration');
    const kept = await docker.listContainers({ filters: { label: [`${LABEL.run}=${result.runId}`] } });
    expect(kept.map((container) => container.Labels[LABEL.service])).toEqual(['app']);
    const name = kept[0]!.Labels[LABEL.project]!;
    expect(result.record.stages[1]!.outputTail).toContain(`kept for inspection: envctl status --project-name ${name} (remove it with \`envctl runs gc\`, or \`envctl down --project-name ${name} --volumes\`)`);
    await removeProject(name);
  });

  it('fails the perf stage when a threshold is breached by a slow service', async () => {
    const { result } = await run(definition('  perf: { target: app, path: /, duration: 1s, connections: 2, thresholds: { p95: 20ms } }\n', { delayMs: 60 }), { only: 'perf' });
    expect(result.failedStage).toBe('perf');
    expect(result.record.stages[0]!.results.find((entry) => entry.status === 'failed')!.name).toMatch(/p95/);
    expect(await runLeftovers(result.runId)).toEqual([]);
  });

  it('fails the staging stage naming each failing check', async () => {
    const { result } = await run(
      definition(`  staging:
    timeout: 1s
    checks:
      - port: app:4000
      - mount: app:/not-mounted
      - file: app:/app/server.js
        sha256: "${'0'.repeat(64)}"
      - env: app:MISSING_VARIABLE
      - http: app:/healthz
        status: 204
      - command: app
        run: ["node", "-e", "process.exit(3)"]
`),
      { only: 'staging' },
    );
    expect(result.failedStage).toBe('staging');
    const staging = result.record.stages[0]!;
    expect(staging.results.map((entry) => `${entry.name}:${entry.status}`)).toEqual([
      'port app:4000:failed',
      'mount app:/not-mounted:failed',
      'file app:/app/server.js:failed',
      'env app:MISSING_VARIABLE:failed',
      'http app:/healthz:failed',
      'command app: node -e process.exit(3):failed',
    ]);
  });

  it('removes the run’s environments when cancelled, and records the run as cancelled', async () => {
    const controller = new AbortController();
    const pending = run(definition('  integration: { run: ["node", "-e", "setTimeout(() => {}, 60000)"] }\n'), { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Cancel once the integration environment exists.
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const running = await docker.listContainers({ filters: { label: [LABEL.run] } });
      if (running.some((container) => container.Labels[LABEL.project]?.startsWith(`${project}-it-`))) break;
      await sleep(250, new AbortController().signal);
    }
    controller.abort(new Error('test cancel'));
    const { result } = await pending;
    expect(result.status).toBe('cancelled');
    expect(await runLeftovers(result.runId)).toEqual([]);
    const stored = JSON.parse(await readFile(result.recordPath, 'utf8'));
    expect(stored.status).toBe('cancelled');
  });
});
