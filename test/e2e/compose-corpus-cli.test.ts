/**
 * The built CLI on Compose corpus projects, as a user runs it: validate and plan accept a file that
 * uses keys envctl cannot run yet and name each at file:line:col; `up` refuses them (exit 2) before
 * any Docker call; `-f a -f b` merges files like docker-compose, and the override file is found.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';
import { CORPUS_DIR } from '../support/compose-corpus.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-compose-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A unix socket that counts connections: proof that a command made no Docker call. */
async function recordingSocket(): Promise<{ path: string; connections: () => number; close: () => Promise<void> }> {
  const path = join(dir, 'docker.sock');
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, connections: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const TRAEFIK = join(CORPUS_DIR, '07-traefik-whoami');
const SHOP = join(CORPUS_DIR, '11-multi-file-override');

describe('Compose files as they are (CLI)', () => {
  it('validate and plan accept unsupported keys and name each at file:line:col; up refuses them before any Docker call', async () => {
    const validate = await envctl(['validate', '--allow-privileged'], { cwd: TRAEFIK });
    expect(validate.exitCode).toBe(0);
    expect(validate.stderr).toContain('compose.yaml:23:5 warning: `scale` is not supported by envctl yet (services.whoami.scale)');
    expect(validate.stdout).toContain('valid: 07-traefik-whoami: default (2 services)');

    const plan = await envctl(['plan', '--offline', '--allow-privileged', '--json'], { cwd: TRAEFIK });
    expect(plan.exitCode).toBe(0);
    const planned = JSON.parse(String(plan.stdout)) as { actions: Array<{ subject: string; kind: string; name: string }>; warnings: string[] };
    expect(planned.actions.filter((action) => action.subject === 'service' && action.kind === 'create').map((action) => action.name).sort()).toEqual(['reverse-proxy', 'whoami']);
    expect(planned.warnings.some((warning) => warning.includes('`scale` is not supported'))).toBe(true);

    const socket = await recordingSocket();
    try {
      const up = await envctl(['up', '--allow-privileged'], { cwd: TRAEFIK, env: { DOCKER_HOST: `unix://${socket.path}` } });
      expect(up.exitCode).toBe(2);
      expect(up.stderr).toContain('compose.yaml:23:5 error: `scale` is not supported by envctl yet');
      expect(socket.connections()).toBe(0);
    } finally {
      await socket.close();
    }
  });

  it('merges -f files in order and finds compose.override.yaml without -f, like docker-compose', async () => {
    const merged = await envctl(['export', 'compose', '-f', 'compose.yaml', '-f', 'compose.prod.yaml'], { cwd: SHOP });
    expect(merged.exitCode, String(merged.stderr)).toBe(0);
    expect(merged.stdout).toMatch(/LOG_LEVEL: warn/);
    expect(merged.stdout).not.toMatch(/35729/);

    const lookedUp = await envctl(['export', 'compose'], { cwd: SHOP });
    expect(lookedUp.exitCode, String(lookedUp.stderr)).toBe(0);
    expect(lookedUp.stdout).toMatch(/LOG_LEVEL: debug/);
    expect(lookedUp.stdout).toMatch(/127\.0\.0\.1:35729:35729/);
  });
});
