/**
 * Privileged settings (reliability.md security checklist): `privileged`, host network/PID/IPC,
 * added capabilities, devices and unconfined profiles are refused by name (exit 2, file:line:col)
 * by the commands that run a definition; bind mounts of `/`, `/etc` and the Docker socket need
 * `--allow-privileged`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, type LoadOptions } from '../../src/definition/resolve.js';
import { DefinitionError } from '../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-privileged-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(serviceLines: string, options: Partial<LoadOptions> = {}) {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, `services:\n  web:\n    image: web\n${serviceLines}`);
  return loadDefinition({ cwd: dir, file, processEnv: {}, ...options });
}

describe('privileged settings are refused by name', () => {
  const cases: Array<[string, string, string]> = [
    ['privileged: true', '    privileged: true\n', 'privileged: true'],
    ['the host network', '    network_mode: host\n', 'network_mode: host'],
    ['the host PID namespace', '    pid: host\n', 'pid: host'],
    ['the host IPC namespace', '    ipc: host\n', 'ipc: host'],
    ['another container’s network', '    network_mode: "container:db"\n', 'network_mode: container:db'],
    ['added capabilities', '    cap_add: [SYS_ADMIN]\n', 'cap_add: [SYS_ADMIN]'],
    ['host devices', '    devices: ["/dev/kmsg:/dev/kmsg"]\n', 'devices'],
    ['an unconfined seccomp profile', '    security_opt: ["seccomp=unconfined"]\n', 'security_opt'],
    ['the Docker API socket', '    use_api_socket: true\n', 'use_api_socket: true'],
  ];
  it.each(cases)('%s (exit 2, located at the key, even with --allow-privileged)', async (_what, lines, named) => {
    for (const allowPrivileged of [false, true]) {
      const error = await load(lines, { allowPrivileged }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DefinitionError);
      const diagnostic = (error as DefinitionError).diagnostics[0]!;
      expect(diagnostic).toMatchObject({ code: 'PRIVILEGED_SETTING', line: 4, col: 5, path: `services.web.${named.split(':')[0]!.split(' ')[0]}` });
      expect(diagnostic.message).toContain(named);
      expect(diagnostic.message).toContain('service "web"');
      expect((error as DefinitionError).exitCode).toBe(2);
    }
  });

  it('refuses them where a definition is inspected too (validate, plan): never passes a check `up` then fails', async () => {
    const error = await load('    pid: host\n', { unsupportedKeys: 'warn' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).diagnostics[0]).toMatchObject({ code: 'PRIVILEGED_SETTING', path: 'services.web.pid' });
    expect((error as DefinitionError).exitCode).toBe(2);
  });

  it('does not call harmless values privileged (`privileged: false` is only a key envctl does not run), and never says "yet"', async () => {
    const error = await load('    privileged: false\n').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ diagnostics: [expect.objectContaining({ code: 'UNSUPPORTED_KEY' })] });
    expect((error as DefinitionError).diagnostics[0]!.message).not.toMatch(/\byet\b/);
    const model = await load('    privileged: false\n', { unsupportedKeys: 'warn' });
    expect(model.warnings.find((warning) => warning.path === 'services.web.privileged')?.message).not.toMatch(/\byet\b/);
  });
});

describe('root-equivalent bind mounts need --allow-privileged', () => {
  const mounts: Array<[string, string]> = [
    ['/', '/:/host:ro'],
    ['/etc', '/etc:/host-etc:ro'],
    ['a file in /etc', '/etc/passwd:/p:ro'],
    ['the Docker socket', '/var/run/docker.sock:/var/run/docker.sock'],
    ['the Docker socket under /run', '/run/docker.sock:/var/run/docker.sock'],
  ];
  it.each(mounts)('%s', async (_what, volume) => {
    const error = await load(`    volumes: ["${volume}"]\n`).catch((caught: unknown) => caught);
    expect((error as DefinitionError).diagnostics?.[0]).toMatchObject({ code: 'PRIVILEGED_MOUNT', line: 4, hint: expect.stringContaining('--allow-privileged') });
    const allowed = await load(`    volumes: ["${volume}"]\n`, { allowPrivileged: true });
    expect(allowed.services.web!.mounts[0]).toMatchObject({ type: 'bind', source: volume.split(':')[0] });
  });
});
