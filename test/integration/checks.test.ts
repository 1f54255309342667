/**
 * Infrastructure checks against the real engine (reliability #31, "behave like goss"): one
 * service from the node base image with an HTTP server on a published port, a named volume (rw), a
 * read-only bind holding certificates made by openssl at test time, and env vars, started with
 * the testing API (`startEnvironment`, envctl/testing) as a user's suite would.
 * Every kind passes in its good case and fails, with the reason a person needs, in its bad case.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkContextFor } from '../../src/checks/context.js';
import { runCheck, runChecks } from '../../src/checks/run-checks.js';
import type { CheckContext, CheckResult, CheckTiming, InfraCheck } from '../../src/checks/types.js';
import { sleep } from '../../src/cli/cancellation.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { startEnvironment, type TestEnvironment } from '../../src/testing/index.js';
import { docker, uniqueProject } from '../support/docker.js';

const IMAGE = 'envctl/base-node:24';
/** Good cases may wait for the container to settle; bad cases give up fast so the file stays quick. */
const PASS: CheckTiming = { timeoutMs: 10_000, intervalMs: 250 };
const FAIL: CheckTiming = { timeoutMs: 1_500, intervalMs: 500 };

const APP_CONF = 'listen=3000\nlevel=debug\n';
const APP_CONF_SHA256 = createHash('sha256').update(APP_CONF).digest('hex');

/** Runs in the container: files first, then the listeners, so a listening 3000 means the files exist. */
const SERVER = `
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
fs.writeFileSync('/data/app.conf', ${JSON.stringify(APP_CONF)});
fs.chmodSync('/data/app.conf', 0o640);
fs.mkdirSync('/data/dir', { recursive: true });
http.createServer((req, res) => {
  if (req.url === '/status/500') { res.writeHead(500); res.end('broken'); return; }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello from envctl');
}).listen(3000, '0.0.0.0');
net.createServer((socket) => socket.end()).listen(3002, '127.0.0.1');
`;

const run = promisify(execFile);

let environment: TestEnvironment | undefined;
let dir: string;
let ctx: CheckContext;
/** Host ports the engine chose for container ports 3000, 3001 (nothing listens) and 3002 (loopback only). */
let hostPort: Record<number, number>;

/** A self-signed certificate valid for 30 days from now, and one that expired on 2020-02-01. */
async function makeCertificates(certs: string, work: string): Promise<void> {
  await run('openssl', ['version']).catch(() => {
    throw new Error('these tests need the openssl command on the host to make certificates');
  });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', join(work, 'good.key'), '-out', join(certs, 'good.pem'), '-days', '30', '-subj', '/O=Envctl Tests/CN=checks.envctl.test']);
  // OpenSSL 3.0 has no -not_after for `req`; `ca -selfsign` takes explicit dates.
  await mkdir(join(work, 'db'));
  await writeFile(join(work, 'db', 'index.txt'), '');
  await writeFile(join(work, 'db', 'serial'), '01\n');
  await writeFile(
    join(work, 'ca.cnf'),
    ['[ca]', 'default_ca = own', '[own]', `database = ${join(work, 'db', 'index.txt')}`, `new_certs_dir = ${join(work, 'db')}`, `serial = ${join(work, 'db', 'serial')}`, 'default_md = sha256', 'policy = any', '[any]', 'commonName = supplied', ''].join('\n'),
  );
  await run('openssl', ['req', '-new', ...ec, '-keyout', join(work, 'expired.key'), '-out', join(work, 'expired.csr'), '-subj', '/CN=expired.envctl.test']);
  await run('openssl', ['ca', '-batch', '-config', join(work, 'ca.cnf'), '-selfsign', '-keyfile', join(work, 'expired.key'), '-in', join(work, 'expired.csr'), '-out', join(certs, 'expired.pem'), '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext']);
}

async function freeHostPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-checks-'));
  await mkdir(join(dir, 'certs'));
  await makeCertificates(join(dir, 'certs'), dir);

  // JSON is YAML. Ports publish on 127.0.0.1 (the default), on host ports the engine picks.
  const definition = {
    name: 'checks',
    services: {
      web: {
        image: IMAGE,
        command: ['node', '-e', SERVER],
        environment: { GREETING: 'hello from envctl', LEVEL: 'debug' },
        ports: ['3000', '3001', '3002'],
        // Nothing listens on 3001 (the failing port check): without a healthcheck, readiness would wait for every
        // published port. Probed every 500 ms while starting (by envctl on engines before API 1.44), then hourly:
        // no probe load on the container while the checks' short timeouts run.
        healthcheck: { test: ['CMD', 'node', '-e', "require('node:net').connect(3000, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"], interval: '1h', start_period: '60s', start_interval: '500ms' },
        volumes: ['data:/data', './certs:/certs:ro'],
      },
    },
    volumes: { data: {} },
  };
  await writeFile(join(dir, 'envctl.yaml'), JSON.stringify(definition, null, 2));
  environment = await startEnvironment({ dir, project: uniqueProject('checks') });

  const engine = DockerEngine.fromEnv(process.env);
  const containers = await engine.listContainers(environment.labels);
  ctx = checkContextFor({ engine, containers, now: Date.now, sleep, signal: new AbortController().signal });
  hostPort = Object.fromEntries([3000, 3001, 3002].map((port) => [port, ctx.publishedAddress('web', port)!.port]));
  const ready = await runCheck({ kind: 'port', name: 'ready', service: 'web', port: 3000 }, ctx, PASS);
  if (ready.status !== 'passed') throw new Error(`the test container never became ready: ${ready.reasons.join('; ')}`);
});

afterAll(async () => {
  await environment?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs checks together (they are independent) and returns them by name. */
async function check(checks: InfraCheck[], timing: CheckTiming, on: CheckContext = ctx): Promise<Record<string, CheckResult>> {
  const results = await runChecks(checks, on, timing);
  expect(results.map((result) => result.name)).toEqual(checks.map((each) => each.name));
  return Object.fromEntries(results.map((result) => [result.name, result]));
}

/** A failing check was retried until the timeout, and says why. */
function expectFailed(result: CheckResult | undefined, reasons: Array<string | RegExp>): void {
  expect(result?.status, JSON.stringify(result)).toBe('failed');
  expect(result!.reasons).toHaveLength(reasons.length);
  reasons.forEach((reason, index) => expect(result!.reasons[index]).toMatch(reason));
}

const port = (name: string, value: number): InfraCheck => ({ kind: 'port', name, service: 'web', port: value });
const mount = (name: string, path: string, mode?: 'ro' | 'rw'): InfraCheck => ({ kind: 'mount', name, service: 'web', path, mode });
const file = (name: string, path: string, expect: { mode?: string; sha256?: string; contains?: string } = {}): InfraCheck => ({ kind: 'file', name, service: 'web', path, mode: expect.mode, sha256: expect.sha256, contains: expect.contains });
const certificate = (name: string, path: string, minDays: number, subject?: string): InfraCheck => ({ kind: 'certificate', name, service: 'web', path, minDays, subject });
const env = (name: string, variable: string, expect: { value?: string; matches?: string } = {}): InfraCheck => ({ kind: 'env', name, service: 'web', variable, value: expect.value, matches: expect.matches });
const http = (name: string, path: string, expect: { port?: number; status?: number; contains?: string } = {}): InfraCheck => ({ kind: 'http', name, service: 'web', path, port: expect.port, status: expect.status ?? 200, contains: expect.contains });
const command = (name: string, run: string[], expect: { exitCode?: number; contains?: string } = {}): InfraCheck => ({ kind: 'command', name, service: 'web', run, exitCode: expect.exitCode ?? 0, contains: expect.contains });

describe('infrastructure checks on the real engine', () => {
  it('port: listening inside and reachable on the published port passes', async () => {
    const { good } = await check([port('good', 3000)], PASS);
    expect(good).toMatchObject({ status: 'passed', attempts: 1, reasons: ['0.0.0.0:3000 listens inside web', `127.0.0.1:${hostPort[3000]} accepts connections`] });
  });

  it('port: closed, loopback-only or refused fails with which part failed', async () => {
    const refusedPort = await freeHostPort();
    const refusing: CheckContext = { ...ctx, publishedAddress: () => ({ host: '127.0.0.1', port: refusedPort }) };
    const [{ closed, loopback }, { refused }] = await Promise.all([check([port('closed', 3001), port('loopback', 3002)], FAIL), check([port('refused', 3000)], FAIL, refusing)]);
    expectFailed(closed, [
      'nothing listens on 3001 inside web (listening: 3000, 3002)',
      // Docker's userland proxy accepts, then closes; without it the kernel refuses.
      new RegExp(`^127\\.0\\.0\\.1:${hostPort[3001]} (accepted the connection and closed it at once|refused the connection)`),
    ]);
    expect(closed!.attempts).toBeGreaterThan(1);
    expect(closed!.durationMs).toBeGreaterThanOrEqual(FAIL.timeoutMs);
    expectFailed(loopback, [/, which the published port cannot reach$/]);
    expect(loopback!.reasons[0]).toContain('inside web it listens only on 127.0.0.1:3002');
    expectFailed(refused, [`127.0.0.1:${refusedPort} refused the connection`]);
  });

  it('mount: a rw volume and a ro bind pass; the wrong mode and a missing mount fail', async () => {
    const results = await check([mount('volume', '/data', 'rw'), mount('bind', '/certs/', 'ro'), mount('wrong mode', '/data', 'ro'), mount('missing', '/nope')], FAIL);
    expect(results.volume).toMatchObject({ status: 'passed', reasons: [expect.stringMatching(/^\/data is a read-write \S+ mount in web$/)] });
    expect(results.bind).toMatchObject({ status: 'passed', reasons: [expect.stringMatching(/^\/certs\/ is a read-only \S+ mount in web$/)] });
    expectFailed(results['wrong mode'], ['/data is mounted read-write in web, expected read-only']);
    expectFailed(results.missing, ['/nope is not a mount point in web']);
  });

  it('file: mode, hash and contents pass; a wrong hash, a wrong mode, a missing file and a directory fail', async () => {
    const results = await check(
      [
        file('good', '/data/app.conf', { mode: '640', sha256: APP_CONF_SHA256, contains: 'level=debug' }),
        file('wrong hash', '/data/app.conf', { sha256: '0'.repeat(64) }),
        file('wrong mode', '/data/app.conf', { mode: '0644', contains: 'level=info' }),
        file('missing', '/data/missing.conf'),
        file('directory', '/data/dir'),
      ],
      FAIL,
    );
    expect(results.good).toMatchObject({ status: 'passed', reasons: ['/data/app.conf is a regular file in web', 'mode 0640', `sha256 ${APP_CONF_SHA256}`, 'contains "level=debug"'] });
    expectFailed(results['wrong hash'], [`/data/app.conf has sha256 ${APP_CONF_SHA256} in web, expected ${'0'.repeat(64)}`]);
    expectFailed(results['wrong mode'], ['/data/app.conf has mode 0640 in web, expected 0644', '/data/app.conf does not contain "level=info" in web']);
    expectFailed(results.missing, ['/data/missing.conf does not exist in web']);
    expectFailed(results.directory, ['/data/dir is a directory, not a regular file, in web']);
  });

  it('certificate: a fresh one passes; expired, expiring too soon and a wrong subject fail with the dates', async () => {
    const results = await check(
      [
        certificate('good', '/certs/good.pem', 14, 'CN=checks.envctl.test'),
        certificate('expired', '/certs/expired.pem', 0),
        certificate('too soon', '/certs/good.pem', 60),
        certificate('wrong subject', '/certs/good.pem', 0, 'CN=other.example'),
        certificate('not a certificate', '/data/app.conf', 0),
      ],
      FAIL,
    );
    expect(results.good).toMatchObject({
      status: 'passed',
      reasons: [expect.stringMatching(/^the certificate in \/certs\/good\.pem is valid from \S+Z until \S+Z \(29 days left, at least 14 required\)$/), 'the certificate in /certs/good.pem has subject "O=Envctl Tests, CN=checks.envctl.test"'],
    });
    expectFailed(results.expired, [/^the certificate in \/certs\/expired\.pem expired on 2020-02-01T00:00:00Z \(\d+ days ago; valid from 2020-01-01T00:00:00Z\)$/]);
    expectFailed(results['too soon'], [/^the certificate in \/certs\/good\.pem expires on \S+Z, in 29 days; at least 60 days are required$/]);
    expectFailed(results['wrong subject'], ['the certificate in /certs/good.pem has subject "O=Envctl Tests, CN=checks.envctl.test", which does not contain "CN=other.example"']);
    expectFailed(results['not a certificate'], ['/data/app.conf in web holds no PEM certificate (no BEGIN CERTIFICATE block)']);
  });

  it('env: a set, equal and matching variable passes; a missing or different one fails', async () => {
    const results = await check([env('good', 'GREETING', { value: 'hello from envctl' }), env('matches', 'LEVEL', { matches: '^(debug|info)$' }), env('missing', 'MISSING'), env('different', 'LEVEL', { value: 'info' })], FAIL);
    expect(results.good).toMatchObject({ status: 'passed', reasons: ['GREETING is "hello from envctl" in web'] });
    expect(results.matches).toMatchObject({ status: 'passed', reasons: ['LEVEL is "debug" in web'] });
    expectFailed(results.missing, ['MISSING is not set in web']);
    expectFailed(results.different, ['LEVEL is "debug" in web, expected "info"']);
  });

  it('http: the expected status and body pass; a wrong status, missing text, a dead port and an unpublished port fail', async () => {
    const base = `http://127.0.0.1:${hostPort[3000]}`;
    const results = await check(
      [
        http('good', '/', { contains: 'hello' }),
        http('wrong status', '/status/500'),
        http('missing text', '/', { port: 3000, contains: 'goodbye' }),
        http('dead port', '/', { port: 3001 }),
        http('unpublished', '/', { port: 4000 }),
        http('path like a host', '//127.0.0.2/'),
      ],
      FAIL,
    );
    expect(results.good).toMatchObject({ status: 'passed', reasons: [`GET ${base}/ answered 200`, 'the body contains "hello"'] });
    expectFailed(results['wrong status'], [`GET ${base}/status/500 answered 500, expected 200: broken`]);
    expectFailed(results['missing text'], [`the answer to GET ${base}/ does not contain "goodbye"`]);
    expectFailed(results['dead port'], [new RegExp(`^GET http://127\\.0\\.0\\.1:${hostPort[3001]}/: 127\\.0\\.0\\.1:${hostPort[3001]} (closed the connection without answering|refused the connection|reset the connection)$`)]);
    expectFailed(results.unpublished, ['web does not publish container port 4000 on the host, so it cannot be reached over HTTP']);
    expect(results.unpublished!.attempts).toBe(1);
    // The path is appended to the published address, never resolved against it.
    expect(results['path like a host']).toMatchObject({ status: 'passed', reasons: [`GET ${base}//127.0.0.2/ answered 200`] });
  });

  it('command: the expected exit code and output pass; another exit code, a missing program and a hang fail', async () => {
    const results = await check(
      [
        command('good', ['sh', '-c', 'echo ready; echo "warming up" >&2'], { contains: 'warming up' }),
        command('exit code', ['sh', '-c', 'echo "migration 7 pending"; exit 3']),
        command('missing program', ['no-such-program']),
        command('hang', ['sleep', '30']),
      ],
      FAIL,
    );
    expect(results.good).toMatchObject({ status: 'passed', reasons: ['`sh -c echo ready; echo "warming up" >&2` exited with 0 in web', 'its output contains "warming up"'] });
    expectFailed(results['exit code'], ['`sh -c echo "migration 7 pending"; exit 3` exited with 3 in web, expected 0; output: migration 7 pending']);
    expectFailed(results['missing program'], [/^`no-such-program` exited with 12[67] in web, expected 0; output: .*no-such-program/]);
    expectFailed(results.hang, ['`sleep 30` did not finish within 1.5 s in web']);
  });

  it('a service without a running container fails every kind with that reason', async () => {
    const results = await check([{ ...port('port', 3000), service: 'ghost' }, { ...file('file', '/etc/hostname'), service: 'ghost' }], FAIL);
    expectFailed(results.port, ['ghost has no running container']);
    expectFailed(results.file, ['ghost has no running container']);
  });

  it('retries until the container gets there: a file that appears a second later passes', async () => {
    const exec = await docker.getContainer(ctx.containerOf('web')!).exec({ Cmd: ['sh', '-c', 'sleep 1; echo done > /tmp/late'] });
    await exec.start({ Detach: true });
    const result = await runCheck(file('late', '/tmp/late', { contains: 'done' }), ctx, PASS);
    expect(result.status, result.reasons.join('; ')).toBe('passed');
    expect(result.attempts).toBeGreaterThan(1);
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
  });
});
