/**
 * An engine reached over TLS (`DOCKER_HOST=tcp://…`, `DOCKER_TLS_VERIFY=1`, `DOCKER_CERT_PATH`):
 * a test-owned TLS endpoint on 127.0.0.1 that demands a client certificate signed by its own CA
 * relays each request to the real engine's socket. `up`, `status` and `down` run through it; the
 * certificates are made by openssl for this test (server: IP 127.0.0.1, DNS localhost).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let certs: string;
let server: Server;
let port: number;
const project = uniqueProject('tls');
const seen: string[] = [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-tls-'));
  certs = join(dir, 'certs');
  execFileSync('mkdir', ['-p', certs]);
  // A CA, a server certificate for 127.0.0.1/localhost and a client certificate, both signed by it.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=envctl test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=localhost']);
  await writeFile(join(certs, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=envctl client']);
  await writeFile(join(certs, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'client.ext']);

  const read = (file: string) => readFile(join(certs, file));
  server = createServer({ key: await read('server-key.pem'), cert: await read('server.pem'), ca: await read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (request, response) => {
    seen.push(`${request.method} ${request.url?.split('?')[0]}`);
    const upstream = httpRequest({ socketPath: '/var/run/docker.sock', method: request.method, path: request.url, headers: { ...request.headers, host: 'docker' } }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      // The engine answers a stream (/events) with its headers at once; so does the relay.
      response.flushHeaders();
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    response.on('close', () => upstream.destroy());
    request.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app:\n    image: ${BASE_IMAGE}\n    command: ["sleep", "infinity"]\n`);
}, 60_000);

afterAll(async () => {
  await removeProject(project);
  server?.closeAllConnections();
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('an engine over TLS', () => {
  const tlsEnv = () => ({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });

  it('up, status and down work through it, with client certificates', async () => {
    const up = await envctl(['up', '--json'], { cwd: dir, env: tlsEnv() });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const status = await envctl(['status', '--json'], { cwd: dir, env: tlsEnv() });
    expect(status.exitCode, String(status.stderr)).toBe(0);
    expect((JSON.parse(String(status.stdout)) as { services: Array<{ service: string; state: string }> }).services.map((service) => [service.service, service.state])).toEqual([['app', 'running']]);
    const down = await envctl(['down', '--json'], { cwd: dir, env: tlsEnv() });
    expect(down.exitCode, String(down.stderr)).toBe(0);
    // Everything went through the TLS endpoint: reads, creates, starts, stops and removes.
    expect(seen).toContain('GET /_ping');
    expect(seen.some((entry) => entry.startsWith('POST /containers/create'))).toBe(true);
    expect(seen.some((entry) => /^DELETE \/containers\//.test(entry))).toBe(true);
  }, 120_000);

  it('a CA that did not sign the server certificate is refused with exit 3, naming the endpoint', async () => {
    const other = join(dir, 'other');
    execFileSync('mkdir', ['-p', other]);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'ca-key.pem'), '-out', join(other, 'ca.pem'), '-days', '2', '-subj', '/CN=another CA'], { stdio: 'pipe' });
    for (const file of ['cert.pem', 'key.pem']) await writeFile(join(other, file), await readFile(join(certs, file)));
    const status = await envctl(['status'], { cwd: dir, env: { ...tlsEnv(), DOCKER_CERT_PATH: other } });
    expect(status.exitCode).toBe(3);
    expect(String(status.stderr)).toContain(`tcp://127.0.0.1:${port}`);
  }, 60_000);
});
