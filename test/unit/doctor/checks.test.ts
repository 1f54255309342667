import { describe, expect, it } from 'vitest';
import {
  BASE_IMAGES,
  checkBaseImages,
  checkDefinition,
  checkDiskSpace,
  checkEngine,
  checkEngineVersion,
  checkNode,
  checkPorts,
  checkProxyBundle,
  checkTmux,
  formatBytes,
  LOW_DISK_BYTES,
  type Probed,
  type ProbedPort,
} from '../../../src/doctor/checks.js';
import { engineLoopbackWarning } from '../../../src/engine/up.js';
import type { EngineInfo } from '../../../src/engine/types.js';

const engine = (version: string): Probed<EngineInfo> => ({ ok: true, value: { version, apiVersion: '1.41', os: 'linux', arch: 'amd64', endpoint: 'unix:///var/run/docker.sock' } });
const noEngine: Probed<EngineInfo> = { ok: false, error: 'no Docker engine at unix:///nonexistent.sock (the socket does not exist)', hint: 'start one: `npm run setup`' };

describe('checkNode', () => {
  it.each([
    ['v24.9.0', 'ok'],
    ['v22.0.0', 'ok'],
    ['v20.20.2', 'fail'],
    ['v18.19.1', 'fail'],
    ['nonsense', 'fail'],
  ] as const)('%s → %s', (version, status) => {
    const check = checkNode({ version, execPath: '/usr/bin/node' });
    expect(check.status).toBe(status);
    expect(check.detail).toContain('/usr/bin/node');
    expect(check.fix === undefined).toBe(status === 'ok');
  });

  it('names the Node that runs and how to use Node 24 from setup', () => {
    const check = checkNode({ version: 'v20.20.2', execPath: '/usr/bin/node' });
    expect(check.detail).toBe('v20.20.2 (/usr/bin/node) is older than 22');
    expect(check.fix).toContain('.tools/bin');
  });
});

describe('checkEngine', () => {
  it('reports version, API, platform and endpoint', () => {
    expect(checkEngine(engine('20.10.24+dfsg1'))).toEqual({
      id: 'engine',
      name: 'engine',
      status: 'ok',
      detail: 'Docker Engine 20.10.24+dfsg1 (API 1.41, linux/amd64) at unix:///var/run/docker.sock',
    });
  });

  it("fails with the engine error and its hint as the fix", () => {
    expect(checkEngine(noEngine)).toMatchObject({ status: 'fail', detail: noEngine.ok ? '' : noEngine.error, fix: 'start one: `npm run setup`' });
  });

  it('has a fix even when the error came without a hint', () => {
    expect(checkEngine({ ok: false, error: 'boom' }).fix).toContain('DOCKER_HOST');
  });
});

describe('checkEngineVersion', () => {
  it.each([
    ['20.10.24+dfsg1', 'warn'],
    ['27.5.1', 'warn'],
    ['28.0.0', 'ok'],
    ['29.1.3', 'ok'],
    ['dev', 'info'],
  ] as const)('%s → %s', (version, status) => {
    expect(checkEngineVersion(engine(version), engineLoopbackWarning).status).toBe(status);
  });

  it("gives up's loopback-publishing warning, with a fix", () => {
    const check = checkEngineVersion(engine('20.10.24+dfsg1'), engineLoopbackWarning);
    expect(check.detail).toBe(engineLoopbackWarning('20.10.24+dfsg1'));
    expect(check.detail).toContain('moby#45610');
    expect(check.fix).toContain('28 or later');
  });

  it('is skipped without an engine', () => {
    expect(checkEngineVersion(noEngine, engineLoopbackWarning).status).toBe('skipped');
  });
});

describe('checkBaseImages', () => {
  it('passes with all four', () => {
    const check = checkBaseImages(engine('28.0.0'), { ok: true, value: new Set(BASE_IMAGES) });
    expect(check.status).toBe('ok');
    expect(check.detail).toBe('envctl/base-debian:12, envctl/base-node:24, envctl/base-postgres:15, envctl/base-redis:7');
  });

  it('names the missing ones and `envctl images build` for them (and `npm run setup` in the repository)', () => {
    const check = checkBaseImages(engine('28.0.0'), { ok: true, value: new Set(['envctl/base-debian:12', 'envctl/base-node:24']) });
    expect(check).toMatchObject({ status: 'fail', detail: 'missing envctl/base-postgres:15, envctl/base-redis:7 (2 of 4 present)' });
    expect(check.fix).toMatch(/^run `envctl images build envctl\/base-postgres:15 envctl\/base-redis:7`: /);
    expect(check.fix).toContain('sudo apt-get install -y debootstrap');
    expect(check.fix).toContain('npm run setup');
    expect(checkBaseImages(engine('28.0.0'), { ok: true, value: new Set() }).fix).toMatch(/^run `envctl images build`: /);
  });

  it('fails when the engine cannot list them', () => {
    expect(checkBaseImages(engine('28.0.0'), { ok: false, error: 'could not list the images within 5 s' })).toMatchObject({ status: 'fail', detail: 'cannot list the images: could not list the images within 5 s' });
  });

  it('is skipped without an engine', () => {
    expect(checkBaseImages(noEngine, undefined).status).toBe('skipped');
  });
});

describe('checkProxyBundle', () => {
  it('shows path and size', () => {
    expect(checkProxyBundle('/x/dist/proxy/bundle.mjs', { ok: true, value: 1_153_434 })).toMatchObject({ status: 'ok', detail: '/x/dist/proxy/bundle.mjs (1.1 MiB)' });
  });

  it('fails with `npm run build` as the fix', () => {
    const check = checkProxyBundle('/x/dist/proxy/bundle.mjs', { ok: false, error: 'ENOENT' });
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('(ENOENT)');
    expect(check.fix).toContain('npm run build');
  });
});

describe('checkDiskSpace', () => {
  const target = { id: 'disk-docker', name: 'disk (docker root)', path: '/var/lib/docker', freeUp: '`docker system df`' };
  it.each([
    ['plenty', 80 * 1024 ** 3, 'ok', '80.0 GiB free at /var/lib/docker'],
    ['exactly the threshold', LOW_DISK_BYTES, 'ok', '2.0 GiB free at /var/lib/docker'],
    ['just under', LOW_DISK_BYTES - 1, 'warn', 'only 2.0 GiB free at /var/lib/docker (under 2.0 GiB: builds and volumes may fail half-way)'],
    ['almost nothing', 512 * 1024 ** 2, 'warn', 'only 512.0 MiB free at /var/lib/docker (under 2.0 GiB: builds and volumes may fail half-way)'],
  ] as const)('%s → %s', (_name, bytes, status, detail) => {
    const check = checkDiskSpace(target, { ok: true, value: bytes });
    expect(check).toMatchObject({ status, detail });
    expect(check.fix).toBe(status === 'warn' ? '`docker system df`' : undefined);
  });

  it('is information when the path cannot be read or is on another host, skipped without an engine', () => {
    expect(checkDiskSpace(target, { ok: false, error: 'ENOENT' })).toMatchObject({ status: 'info', detail: 'cannot read the free space of /var/lib/docker: ENOENT' });
    expect(checkDiskSpace(target, { notHere: 'remote' })).toMatchObject({ status: 'info', detail: 'remote' });
    expect(checkDiskSpace(target, undefined).status).toBe('skipped');
  });
});

describe('checkDefinition', () => {
  it('summarises a loaded definition', () => {
    expect(checkDefinition({ kind: 'loaded', file: 'envctl.yaml', project: 'demo', env: 'default', services: 4, warnings: 0 })).toMatchObject({
      status: 'ok',
      detail: 'envctl.yaml: project demo, env default, 4 services',
    });
    expect(checkDefinition({ kind: 'loaded', file: 'envctl.yaml', project: 'demo', env: 'ci', services: 1, warnings: 2 }).detail).toBe(
      'envctl.yaml: project demo, env ci, 1 service, 2 warnings (`envctl validate` shows them)',
    );
  });

  it('is information when there is none', () => {
    expect(checkDefinition({ kind: 'none', cwd: '/tmp/x' })).toMatchObject({ status: 'info', detail: 'none in /tmp/x or its parents (checks that need one are skipped)' });
  });

  it('summarises errors: how many, the first with its location', () => {
    const diagnostics = [
      { file: 'envctl.yaml', line: 5, col: 13, message: 'invalid container port "nonsense"', hint: 'use HOST:CONTAINER' },
      { file: 'envctl.yaml', line: 9, col: 3, message: 'unknown service "db"' },
    ];
    const check = checkDefinition({ kind: 'invalid', message: 'x', hint: undefined, diagnostics });
    expect(check).toMatchObject({ status: 'fail', detail: '2 errors in envctl.yaml; first: envctl.yaml:5:13 invalid container port "nonsense" (and 1 more)' });
    expect(check.fix).toContain('envctl validate');
  });

  it("uses a single error's own hint as the fix", () => {
    const check = checkDefinition({ kind: 'invalid', message: 'x', hint: undefined, diagnostics: [{ file: 'a.yaml', line: 1, col: 1, message: 'cannot read the definition: ENOENT', hint: 'check the path given with --file' }] });
    expect(check.fix).toBe('check the path given with --file (`envctl validate` shows it in context)');
  });

  it('falls back to the message and hint of an error without locations', () => {
    expect(checkDefinition({ kind: 'invalid', message: 'include cycle', hint: 'remove one include', diagnostics: [] })).toMatchObject({ status: 'fail', detail: 'include cycle', fix: 'remove one include' });
  });
});

describe('checkPorts', () => {
  const port = (published: number, extra: Partial<ProbedPort> = {}): ProbedPort => ({ service: 'web', hostIp: '127.0.0.1', published, protocol: 'tcp', heldByEnvironment: false, problem: undefined, ...extra });

  it.each([
    ['no definition', undefined, 'skipped', 'needs a definition that loads'],
    ['no published ports', [], 'ok', 'the definition publishes no fixed host ports'],
    ['all free', [port(8080), port(5353, { protocol: 'udp', service: 'dns' })], 'ok', 'free: 127.0.0.1:8080/tcp (web), 127.0.0.1:5353/udp (dns)'],
    ['held by the environment itself', [port(8080, { heldByEnvironment: true })], 'ok', "held by this environment's own containers: 127.0.0.1:8080/tcp (web)"],
    ['taken by something else', [port(8080), port(8081, { problem: 'already in use' })], 'fail', 'not available: 127.0.0.1:8081/tcp (web): already in use'],
    ['a host address that is not ours', [port(8080, { hostIp: '10.9.9.9', problem: '10.9.9.9 is not an address of this machine' })], 'fail', 'not available: 10.9.9.9:8080/tcp (web): 10.9.9.9 is not an address of this machine'],
  ] as const)('%s → %s', (_name, ports, status, detail) => {
    const check = checkPorts(ports);
    expect(check).toMatchObject({ status, detail });
    if (status === 'fail') expect(check.fix).toContain('ss -ltnp');
  });
});

describe('checkTmux', () => {
  it('is ok when present and information (not a failure) when missing', () => {
    expect(checkTmux('/usr/bin/tmux').status).toBe('ok');
    const missing = checkTmux(undefined);
    expect(missing.status).toBe('info');
    expect(missing.fix).toContain('apt-get install tmux');
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])('%s → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
