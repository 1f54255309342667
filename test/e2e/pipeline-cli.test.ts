/**
 * `envctl pipeline` and `envctl runs` through the built CLI: exit codes, what goes to stdout and
 * stderr, the JUnit file (validated against the JUnit XSD), the webhook notification and the run
 * records.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
let receiver: Server;
let received: Array<{ headers: Record<string, unknown>; body: Record<string, unknown> }>;
let webhook: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-pipeline-'));
  project = uniqueProject('pipecli');
  received = [];
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/envctl`;
  await writeFile(join(dir, 'Dockerfile'), 'FROM envctl/base-node:24\nCMD ["node", "-e", "require(\'node:http\').createServer((q, s) => s.end(\'ok\')).listen(3000)"]\n');
});
afterEach(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  for (const suffix of ['-staging', '']) await removeProject(`${project}${suffix}`);
  await rm(dir, { recursive: true, force: true });
});

const definition = (buildCommand: string) => `name: ${project}
services:
  app:
    build: .
    ports: ["127.0.0.1::3000"]
pipeline:
  build: { run: ${buildCommand} }
  staging:
    timeout: 5s
    checks:
      - http: app:/
        contains: ok
  notify: { webhook: "${webhook}" }
`;

describe('envctl pipeline (CLI)', () => {
  it('passes, writes a valid JUnit file, notifies, and records the run for `envctl runs`', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition('["node", "-e", "console.log(\'3 unit tests passed\')"]'));
    const result = await envctl(['pipeline', '--junit', 'reports/envctl.xml'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('3 unit tests passed');
    expect(String(result.stdout)).toMatch(/^run \d{8}T\d{6}Z-[0-9a-f]{4} passed \(\d+\.\ds\); record: .*record\.json$/);

    const xml = await readFile(join(dir, 'reports', 'envctl.xml'), 'utf8');
    const xsd = await readFile(new URL('../fixtures/junit/junit.xsd', import.meta.url), 'utf8');
    const validation = await validateXML({ xml: [{ fileName: 'envctl.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: xsd }] });
    expect(validation.errors).toEqual([]);
    expect(xml).toContain('<testsuite name="build"');
    expect(xml).toContain('<testcase name="http app:/"');

    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-type']).toContain('application/json');
    expect(received[0]!.body).toMatchObject({ project, status: 'passed', stages: [{ name: 'build', status: 'passed' }, { name: 'staging', status: 'passed' }] });

    const runs = await envctl(['runs', '--json'], { cwd: dir });
    expect(JSON.parse(String(runs.stdout)).runs).toEqual([expect.objectContaining({ status: 'passed', stages: 'build:passed staging:passed' })]);
    const show = await envctl(['runs', 'show', 'latest'], { cwd: dir });
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toContain('✓ http app:/');
    // The staging environment is long-lived: it is still running, under its own project name.
    expect((await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}-staging`] } })).length).toBe(1);
  });

  it('exits 1 naming the failed stage and check, with a JUnit failure and a failure notification', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition('["node", "-e", "console.error(\'expected 2 to equal 3\'); process.exit(1)"]'));
    const result = await envctl(['pipeline', '--junit', 'envctl.xml'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('stage build failed: exited 1');
    expect(result.stderr).toContain('expected 2 to equal 3');
    const xml = await readFile(join(dir, 'envctl.xml'), 'utf8');
    expect(xml).toMatch(/<testsuites[^>]* failures="1"/);
    expect(xml).toMatch(/<testsuite name="staging"[^>]* skipped="1"/);
    expect(received[0]!.body).toMatchObject({ status: 'failed', failedStage: 'build' });
  });

  it('refuses a bad definition (exit 2) and an undeclared stage (exit 2) before any stage runs', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition('["true"]').replace('  staging:', '  stagging:'));
    const bad = await envctl(['pipeline'], { cwd: dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown key `stagging`');
    await writeFile(join(dir, 'envctl.yaml'), definition('["true"]'));
    const undeclared = await envctl(['pipeline', '--only', 'perf'], { cwd: dir });
    expect(undeclared.exitCode).toBe(2);
    expect(undeclared.stderr).toContain('the definition declares no perf stage');
    const runs = await envctl(['runs', '--json'], { cwd: dir });
    expect(JSON.parse(String(runs.stdout)).runs).toEqual([]);
  });
});
