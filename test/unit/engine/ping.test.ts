/**
 * `DockerEngine.ping()` against a fake engine on a unix socket: Docker's `/_ping` headers name the
 * version, so a command's start makes one request; an engine whose `/_ping` does not (another
 * implementation of the API), or `doctor` asking for the detail, also gets `/version`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../../src/engine/docker-engine.js';

interface FakeEngine {
  socket: string;
  seen: string[];
  close: () => Promise<void>;
}

const open: FakeEngine[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((engine) => engine.close()));
});

async function fakeEngine(pingHeaders: Record<string, string>, status = 200): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'envctl-ping-'));
  const socket = join(dir, 'docker.sock');
  const seen: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    seen.push(`${request.method} ${request.url}`);
    if (request.url === '/_ping') {
      response.writeHead(status, { 'content-type': 'text/plain', ...pingHeaders });
      response.end(status === 200 ? 'OK' : '{"message":"engine is starting"}');
      return;
    }
    if (request.url === '/version') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ Version: '5.4.2', ApiVersion: '1.41', Os: 'linux', Arch: 'arm64' }));
      return;
    }
    response.writeHead(404).end('{"message":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const engine = {
    socket,
    seen,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
  open.push(engine);
  return engine;
}

describe('DockerEngine.ping', () => {
  it("reads Docker's version, API version and OS from the /_ping headers, in one request", async () => {
    const engine = await fakeEngine({ 'api-version': '1.41', server: 'Docker/20.10.24+dfsg1 (linux)', ostype: 'linux' });
    const info = await DockerEngine.fromEnv({ DOCKER_HOST: `unix://${engine.socket}` }).ping();
    expect(info).toEqual({ version: '20.10.24+dfsg1', apiVersion: '1.41', os: 'linux', endpoint: `unix://${engine.socket}` });
    expect(engine.seen).toEqual(['GET /_ping']);
  });

  it("takes the OS from the Server header's parentheses when there is no Ostype header", async () => {
    const engine = await fakeEngine({ 'api-version': '1.45', server: 'Docker/26.1.4 (linux)' });
    const info = await DockerEngine.fromEnv({ DOCKER_HOST: `unix://${engine.socket}` }).ping();
    expect(info).toEqual({ version: '26.1.4', apiVersion: '1.45', os: 'linux', endpoint: `unix://${engine.socket}` });
    expect(engine.seen).toEqual(['GET /_ping']);
  });

  it('asks /version when /_ping does not name a Docker engine', async () => {
    const engine = await fakeEngine({ 'api-version': '1.41', server: 'Libpod/5.4.2 (linux)' });
    const info = await DockerEngine.fromEnv({ DOCKER_HOST: `unix://${engine.socket}` }).ping();
    expect(info).toEqual({ version: '5.4.2', apiVersion: '1.41', os: 'linux', arch: 'arm64', endpoint: `unix://${engine.socket}` });
    expect(engine.seen).toEqual(['GET /_ping', 'GET /version']);
  });

  it('asks /version for the detail (architecture) when told to', async () => {
    const engine = await fakeEngine({ 'api-version': '1.41', server: 'Docker/20.10.24+dfsg1 (linux)' });
    const info = await DockerEngine.fromEnv({ DOCKER_HOST: `unix://${engine.socket}` }).ping({ detail: true });
    expect([info.os, info.arch]).toEqual(['linux', 'arm64']);
    expect(engine.seen).toEqual(['GET /_ping', 'GET /version']);
  });

  it('is an environment error (exit 3) naming the endpoint when /_ping fails', async () => {
    const engine = await fakeEngine({}, 500);
    await expect(DockerEngine.fromEnv({ DOCKER_HOST: `unix://${engine.socket}` }).ping()).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining(engine.socket) });
  });
});
