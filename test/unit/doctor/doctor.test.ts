/** runDoctor with every probe injected: the whole run without Docker, sockets or a real disk. */
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { BASE_IMAGES, type DoctorCheck } from '../../../src/doctor/checks.js';
import { doctorFailed, renderDoctorText, runDoctor, type DoctorEngine, type DoctorProbes } from '../../../src/doctor/doctor.js';
import type { EnvironmentModel, ServiceModel } from '../../../src/definition/model.js';
import { engineLoopbackWarning } from '../../../src/engine/up.js';
import { DefinitionError, EnvironmentError, UsageError } from '../../../src/errors.js';
import type { ObservedContainer } from '../../../src/engine/types.js';

const GiB = 1024 ** 3;

function fakeEngine(overrides: Partial<DoctorEngine> = {}): DoctorEngine {
  return {
    // Like DockerEngine: the architecture only when /version is asked (`detail`).
    ping: async (options) => ({ version: '28.1.1', apiVersion: '1.49', os: 'linux', ...(options?.detail ? { arch: 'amd64' } : {}), endpoint: 'unix:///var/run/docker.sock' }),
    existingImages: async () => new Set(BASE_IMAGES),
    listContainers: async () => [],
    dockerRootDir: async () => '/var/lib/docker',
    ...overrides,
  };
}

function service(name: string, ports: ServiceModel['ports']): ServiceModel {
  return { name, ports } as ServiceModel;
}

function model(services: ServiceModel[]): EnvironmentModel {
  return {
    project: 'shop',
    env: 'default',
    file: 'envctl.yaml',
    projectDir: '/home/me/shop',
    services: Object.fromEntries(services.map((entry) => [entry.name, entry])),
    warnings: [],
  } as unknown as EnvironmentModel;
}

function probes(overrides: Partial<DoctorProbes> = {}): DoctorProbes {
  return {
    node: { version: 'v24.9.0', execPath: '/usr/local/bin/node' },
    cwd: '/home/me/shop',
    engine: () => fakeEngine(),
    loadDefinition: async () => {
      throw new UsageError('NO_DEFINITION', 'no definition found', 'pass --file');
    },
    proxyBundlePath: '/opt/envctl/dist/proxy/bundle.mjs',
    fileSize: async () => 1_200_000,
    freeBytes: async () => 50 * GiB,
    probePort: async () => undefined,
    findExecutable: async () => '/usr/bin/tmux',
    loopbackWarning: engineLoopbackWarning,
    ...overrides,
  };
}

const byId = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((check) => [check.id, check]));

describe('runDoctor', () => {
  it('reports every check in a fixed order, none failed on a healthy machine', async () => {
    const checks = await runDoctor({ probes: probes(), timeoutMs: 1_000 });
    expect(checks.map((check) => `${check.id}=${check.status}`)).toEqual([
      'node=ok',
      'engine=ok',
      'engine-version=ok',
      'base-images=ok',
      'proxy-bundle=ok',
      'disk-docker=ok',
      'disk-project=ok',
      'definition=info',
      'ports=skipped',
      'tmux=ok',
    ]);
    expect(doctorFailed(checks)).toBe(false);
    expect(byId(checks).engine!.detail).toBe('Docker Engine 28.1.1 (API 1.49, linux/amd64) at unix:///var/run/docker.sock');
  });

  it('an engine that does not answer fails the engine check with its fix and skips what needs it', async () => {
    const engine = fakeEngine({
      ping: async () => {
        throw new EnvironmentError('ENGINE_NOT_FOUND', 'no Docker engine at unix:///nonexistent.sock (the socket does not exist)', 'start one: `npm run setup` installs and starts the engine');
      },
    });
    const checks = byId(await runDoctor({ probes: probes({ engine: () => engine }), timeoutMs: 1_000 }));
    expect(checks.engine).toEqual({
      id: 'engine',
      name: 'engine',
      status: 'fail',
      detail: 'no Docker engine at unix:///nonexistent.sock (the socket does not exist)',
      fix: 'start one: `npm run setup` installs and starts the engine',
    });
    expect([checks['engine-version']!.status, checks['base-images']!.status, checks['disk-docker']!.status]).toEqual(['skipped', 'skipped', 'skipped']);
    expect(doctorFailed(Object.values(checks))).toBe(true);
  });

  it('an unusable DOCKER_HOST (the engine cannot even be built) is an engine failure, not a crash', async () => {
    const checks = byId(
      await runDoctor({
        probes: probes({
          engine: () => {
            throw new EnvironmentError('INSECURE_DOCKER_HOST', 'refusing to use tcp://1.2.3.4:2375 without TLS', 'use the local socket (unset DOCKER_HOST)');
          },
        }),
        timeoutMs: 1_000,
      }),
    );
    expect(checks.engine).toMatchObject({ status: 'fail', detail: 'refusing to use tcp://1.2.3.4:2375 without TLS', fix: 'use the local socket (unset DOCKER_HOST)' });
  });

  it('bounds every engine probe: a hung call becomes a failed check within the timeout', async () => {
    const hang = () => new Promise<never>(() => undefined);
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const running = runDoctor({ probes: probes({ engine: () => fakeEngine({ existingImages: hang, dockerRootDir: hang }) }), timeoutMs: 50 });
    await vi.advanceTimersByTimeAsync(50);
    const checks = byId(await running);
    expect(checks['base-images']).toMatchObject({ status: 'fail', detail: 'cannot list the images: could not list the images within 0.05 s' });
    expect(checks['disk-docker']).toMatchObject({ status: 'info', detail: 'cannot ask the engine where it keeps its data: could not read the engine info within 0.05 s' });
  });

  it('a hung ping fails the engine check', async () => {
    const checks = byId(await runDoctor({ probes: probes({ engine: () => fakeEngine({ ping: () => new Promise<never>(() => undefined) }) }), timeoutMs: 50 }));
    expect(checks.engine).toMatchObject({ status: 'fail', detail: 'could not ping the engine within 0.05 s' });
  });

  it('an old engine warns but does not fail the doctor', async () => {
    const engine = fakeEngine({ ping: async () => ({ version: '20.10.24+dfsg1', apiVersion: '1.41', os: 'linux', arch: 'amd64', endpoint: 'unix:///var/run/docker.sock' }) });
    const checks = await runDoctor({ probes: probes({ engine: () => engine }), timeoutMs: 1_000 });
    expect(byId(checks)['engine-version']!.status).toBe('warn');
    expect(doctorFailed(checks)).toBe(false);
  });

  it('missing base images and a missing proxy bundle fail', async () => {
    const checks = byId(
      await runDoctor({
        probes: probes({
          engine: () => fakeEngine({ existingImages: async () => new Set(['envctl/base-debian:12']) }),
          fileSize: async () => {
            throw Object.assign(new Error("ENOENT: no such file or directory, stat '/opt/envctl/dist/proxy/bundle.mjs'"), { code: 'ENOENT' });
          },
        }),
        timeoutMs: 1_000,
      }),
    );
    expect(checks['base-images']).toMatchObject({ status: 'fail', detail: 'missing envctl/base-node:24, envctl/base-postgres:15, envctl/base-redis:7 (1 of 4 present)' });
    expect(checks['proxy-bundle']!.status).toBe('fail');
    expect(checks['proxy-bundle']!.fix).toContain('npm run build');
  });

  it('measures free space in the Docker root dir and the project folder, and warns when low', async () => {
    const asked: string[] = [];
    const freeBytes = async (path: string) => {
      asked.push(path);
      return path === '/var/lib/docker' ? 1 * GiB : 40 * GiB;
    };
    const checks = byId(await runDoctor({ probes: probes({ freeBytes, loadDefinition: async () => model([]) }), timeoutMs: 1_000 }));
    expect(asked.sort()).toEqual(['/home/me/shop', '/var/lib/docker']);
    expect(checks['disk-docker']).toMatchObject({ status: 'warn', detail: 'only 1.0 GiB free at /var/lib/docker (under 2.0 GiB: builds and volumes may fail half-way)' });
    expect(checks['disk-project']).toMatchObject({ status: 'ok', detail: '40.0 GiB free at /home/me/shop' });
  });

  it("does not read a remote engine's root dir on this machine", async () => {
    const engine = fakeEngine({ ping: async () => ({ version: '28.1.1', apiVersion: '1.49', os: 'linux', arch: 'amd64', endpoint: 'tcp://build-host:2376' }) });
    const asked: string[] = [];
    const checks = byId(await runDoctor({ probes: probes({ engine: () => engine, freeBytes: async (path) => (asked.push(path), 50 * GiB) }), timeoutMs: 1_000 }));
    expect(asked).toEqual(['/home/me/shop']);
    expect(checks['disk-docker']).toMatchObject({ status: 'info', detail: "/var/lib/docker is on the engine's host (tcp://build-host:2376); not readable from here" });
  });

  it('summarises definition errors', async () => {
    const error = new DefinitionError([
      { code: 'BAD_PORT', message: 'invalid container port "nonsense"', file: 'envctl.yaml', line: 5, col: 13, path: 'services.web.ports[0]' },
      { code: 'UNKNOWN_SERVICE', message: 'depends on unknown service "db"', file: 'envctl.yaml', line: 6, col: 17, path: 'services.web.depends_on' },
    ]);
    const checks = byId(
      await runDoctor({
        probes: probes({
          loadDefinition: async () => {
            throw error;
          },
        }),
        timeoutMs: 1_000,
      }),
    );
    expect(checks.definition).toMatchObject({ status: 'fail', detail: '2 errors in envctl.yaml; first: envctl.yaml:5:13 invalid container port "nonsense" (and 1 more)' });
    expect(checks.ports!.status).toBe('skipped');
  });

  it("probes the definition's fixed host ports, except those the environment's own containers hold", async () => {
    const probed: string[] = [];
    const running: ObservedContainer[] = [
      { id: 'c1', name: 'shop-web-1', service: 'web', state: 'running', health: undefined, image: 'x', labels: {}, created: 0, ports: [{ hostIp: '127.0.0.1', published: 8080, target: 3000, protocol: 'tcp' }] },
    ];
    const labelsAsked: Array<Record<string, string>> = [];
    const checks = byId(
      await runDoctor({
        probes: probes({
          engine: () => fakeEngine({ listContainers: async (labels) => (labelsAsked.push(labels), running) }),
          loadDefinition: async () =>
            model([
              service('web', [
                { hostIp: '127.0.0.1', published: 8080, target: 3000, protocol: 'tcp' },
                { hostIp: '127.0.0.1', published: undefined, target: 9229, protocol: 'tcp' },
              ]),
              service('db', [{ hostIp: '127.0.0.1', published: 5432, target: 5432, protocol: 'tcp' }]),
            ]),
          probePort: async (host, port, protocol) => {
            probed.push(`${host}:${port}/${protocol}`);
            return port === 5432 ? 'already in use' : undefined;
          },
        }),
        timeoutMs: 1_000,
      }),
    );
    expect(labelsAsked).toEqual([{ 'dev.envctl.project': 'shop', 'dev.envctl.env': 'default' }]);
    expect(probed).toEqual(['127.0.0.1:5432/tcp']);
    expect(checks.ports).toMatchObject({ status: 'fail', detail: 'not available: 127.0.0.1:5432/tcp (db): already in use' });
  });

  it('still probes ports when the engine is unreachable', async () => {
    const engine = fakeEngine({
      ping: async () => {
        throw new EnvironmentError('ENGINE_REFUSED', 'refused', 'start dockerd');
      },
    });
    const checks = byId(
      await runDoctor({
        probes: probes({ engine: () => engine, loadDefinition: async () => model([service('web', [{ hostIp: '127.0.0.1', published: 8080, target: 3000, protocol: 'tcp' }])]) }),
        timeoutMs: 1_000,
      }),
    );
    expect(checks.ports).toMatchObject({ status: 'ok', detail: 'free: 127.0.0.1:8080/tcp (web)' });
  });

  it('a missing tmux is information only', async () => {
    const checks = await runDoctor({ probes: probes({ findExecutable: async () => undefined }), timeoutMs: 1_000 });
    expect(byId(checks).tmux!.status).toBe('info');
    expect(doctorFailed(checks)).toBe(false);
  });

  it('fails the node check on an old Node', async () => {
    const checks = await runDoctor({ probes: probes({ node: { version: 'v20.20.2', execPath: '/usr/bin/node' } }), timeoutMs: 1_000 });
    expect(byId(checks).node!.status).toBe('fail');
    expect(doctorFailed(checks)).toBe(true);
  });

  it('sanitises text from the engine and the file system', async () => {
    const engine = fakeEngine({
      ping: async () => {
        throw new EnvironmentError('ENGINE_UNREACHABLE', 'bad \u001b]52;c;Y3VybA==\u0007engine\u001b[2J\nanswer', 'fix \u009b2Jit');
      },
    });
    const [, check] = await runDoctor({ probes: probes({ engine: () => engine }), timeoutMs: 1_000 });
    expect(check).toMatchObject({ detail: 'bad engine answer', fix: 'fix it' });
  });
});

describe('renderDoctorText', () => {
  it('one line per check, the fix indented under a problem', () => {
    const text = renderDoctorText([
      { id: 'node', name: 'node', status: 'ok', detail: 'v24.9.0 (/usr/bin/node)' },
      { id: 'engine', name: 'engine', status: 'fail', detail: 'no Docker engine at unix:///x.sock', fix: 'start one' },
      { id: 'engine-version', name: 'engine version', status: 'skipped', detail: 'needs a reachable engine' },
      { id: 'disk-project', name: 'disk (project)', status: 'warn', detail: 'only 1.0 GiB free at /p', fix: 'free space' },
      { id: 'tmux', name: 'tmux', status: 'info', detail: 'not found' },
    ]);
    expect(text).toBe(
      [
        '✔ node: v24.9.0 (/usr/bin/node)',
        '✖ engine: no Docker engine at unix:///x.sock',
        '  fix: start one',
        '– engine version: needs a reachable engine',
        '⚠ disk (project): only 1.0 GiB free at /p',
        '  fix: free space',
        '• tmux: not found',
        '',
      ].join('\n'),
    );
  });
});
