/**
 * Reading Compose files as they are: YAML merge keys (with the expansion limits), `extends`
 * (same file and another file), several files (`-f a -f b`, Compose's override file), Compose keys
 * envctl cannot run yet (warned by validate/plan, refused otherwise), short-form mount paths.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeComposeFiles } from '../../src/definition/compose-files.js';
import { mergeServices } from '../../src/definition/compose-merge.js';
import { loadDefinition, type LoadOptions } from '../../src/definition/resolve.js';
import { parseVolumeShort } from '../../src/definition/values.js';
import { MAX_EXPANDED_NODES, measureExpansion, parseDefinitionText } from '../../src/definition/yaml-source.js';
import { DefinitionError, UsageError } from '../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-compose-compat-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

function load(options: Partial<LoadOptions> = {}) {
  return loadDefinition({ cwd: dir, processEnv: {}, ...options });
}

async function failure(promise: Promise<unknown>): Promise<DefinitionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DefinitionError);
  return error as DefinitionError;
}

describe('YAML merge keys', () => {
  it('expands `<<` like Compose: explicit keys win wherever they are written, the first of a list wins', async () => {
    await write(
      'compose.yaml',
      `x-a: &a { image: a:1, restart: always, environment: { A: "1", SHARED: from-a } }
x-b: &b { image: b:1, user: "1000", working_dir: /b }
services:
  before:
    restart: "no"
    <<: *a
  after:
    <<: *a
    image: mine:2
  both:
    <<: [*a, *b]
  env:
    image: e:1
    environment:
      <<: { A: "1", SHARED: from-anchor }
      SHARED: own
`,
    );
    const model = await load();
    expect(model.services.before!.restart).toBe('no');
    expect(model.services.before!.image).toBe('a:1');
    expect(model.services.after!.image).toBe('mine:2');
    expect(model.services.after!.restart).toBe('always');
    expect(model.services.both!.image).toBe('a:1');
    expect(model.services.both!.user).toBe('1000');
    expect(model.services.both!.workingDir).toBe('/b');
    expect(model.services.env!.environment).toMatchObject({ A: '1', SHARED: 'own' });
  });

  it('points an error in a merged value at the anchor where it was written', async () => {
    await write('compose.yaml', `x-base: &base\n  image: web:1\n  restart: sometimes\nservices:\n  web:\n    <<: *base\n`);
    const error = await failure(load());
    expect(error.diagnostics[0]).toMatchObject({ code: 'INVALID_VALUE', line: 3, col: 12 });
  });

  it('refuses `__proto__` in a merge source before anything is built (no prototype pollution)', async () => {
    await write('compose.yaml', `x-evil: &evil\n  __proto__: { polluted: yes }\nservices:\n  web:\n    image: web:1\n    <<: *evil\n`);
    const error = await failure(load());
    expect(error.diagnostics[0]).toMatchObject({ code: 'FORBIDDEN_KEY', line: 2, col: 3 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a merge key whose value is not a mapping, at the value', async () => {
    await write('compose.yaml', `x-list: &list [1, 2]\nservices:\n  web:\n    image: web:1\n    <<: *list\n`);
    const error = await failure(load());
    expect(error.diagnostics[0]).toMatchObject({ code: 'MERGE_SOURCE', line: 5, col: 9 });
  });

  it('admits a large file that shares defaults through nested merges (60 services, Sentry style)', () => {
    let text = 'x-restart: &restart\n  restart: unless-stopped\nx-healthy: &healthy\n  condition: service_healthy\nx-defaults: &defaults\n  <<: *restart\n  image: app:1\n  depends_on:\n';
    for (const dependency of ['redis', 'postgres', 'kafka', 'clickhouse', 'memcached', 'smtp', 'snuba', 'symbolicator']) text += `    ${dependency}:\n      <<: *healthy\n`;
    text += 'services:\n';
    for (let index = 0; index < 60; index += 1) text += `  svc-${index}:\n    <<: *defaults\n    command: ["run", "${index}"]\n`;
    const { source, value } = parseDefinitionText('compose.yaml', text);
    expect(Object.keys(value.services as object)).toHaveLength(60);
    expect(((value.services as Record<string, { depends_on: Record<string, unknown> }>)['svc-59']!.depends_on.kafka)).toEqual({ condition: 'service_healthy' });
    const { nodes } = measureExpansion(source.doc);
    expect(nodes).toBeLessThan(MAX_EXPANDED_NODES / 10);
  });

  it('refuses a file that would expand past the limit, before building anything', () => {
    const keys = Array.from({ length: 500 }, (_, index) => `  k${index}: v`).join('\n');
    const text = `x-big: &big\n${keys}\nservices:\n  web:\n    image: web:1\n    labels:\n${Array.from({ length: 400 }, (_, index) => `      l${index}: *big`).join('\n')}\n`;
    let error: unknown;
    try {
      parseDefinitionText('compose.yaml', text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).diagnostics[0]).toMatchObject({ code: 'ALIAS_LIMIT', line: 506 });
  });
});

describe('extends', () => {
  it('resolves same-file and other-file extends with Compose merge rules; paths stay relative to the file that wrote them', async () => {
    await write('common/Dockerfile', 'FROM scratch\n');
    await write('common/app.env', 'FROM_FILE=1\n');
    await write(
      'common/base.yml',
      `services:
  base:
    build: .
    env_file: app.env
    environment: { A: base, B: base }
    ports: ["80"]
    volumes: ["./data:/data", "cache:/cache"]
    labels: [team=core]
  worker:
    extends: base
    command: ["work"]
`,
    );
    await write(
      'compose.yaml',
      `services:
  web:
    extends: { file: common/base.yml, service: base }
    environment: { B: web }
    ports: ["9090:90"]
    volumes: ["./other:/data"]
  job:
    extends: { file: ./common/base.yml, service: worker }
  local:
    image: local:1
    environment: [X=1]
  local-child:
    extends: local
    environment: [Y=2]
volumes: { cache: {} }
`,
    );
    const model = await load();
    const web = model.services.web!;
    expect(web.build?.context).toBe(join(dir, 'common'));
    expect(web.environment).toMatchObject({ A: 'base', B: 'web', FROM_FILE: '1' });
    expect(web.ports.map((port) => port.target).sort()).toEqual([80, 90]);
    // Mounts merge by container path: the extending service's /data wins.
    expect(web.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(dir, 'other'));
    expect(web.labels).toEqual({ team: 'core' });
    expect(model.services.job!.command).toEqual(['work']);
    expect(model.services.job!.mounts.find((mount) => mount.target === '/data')?.source).toBe(join(dir, 'common', 'data'));
    expect(model.services['local-child']!.environment).toMatchObject({ X: '1', Y: '2' });
    expect(model.services['local-child']!.image).toBe('local:1');
  });

  it('locates an error in an inherited key where it was written: in the other file, or in the same-file base', async () => {
    await write('common.yml', `services:\n  base:\n    image: base:1\n    restart: sometimes\n`);
    await write('compose.yaml', `services:\n  web:\n    extends: { file: common.yml, service: base }\n    environment: { A: "1" }\n`);
    const other = await failure(load());
    expect(other.diagnostics[0]).toMatchObject({ code: 'INVALID_VALUE', file: 'common.yml', line: 4, col: 14 });

    await write('compose.yaml', `services:\n  base:\n    image: base:1\n    healthcheck: { test: ["CMD", "true"], retries: -1 }\n  web:\n    extends: base\n`);
    const same = await failure(load());
    expect(same.diagnostics.map((diagnostic) => `${diagnostic.file}:${diagnostic.line}:${diagnostic.col}`)).toEqual(['compose.yaml:4:52', 'compose.yaml:4:52']);

    // A key the extending service writes itself is located there.
    await write('compose.yaml', `services:\n  web:\n    extends: { file: common.yml, service: base }\n    restart: never\n`);
    const own = await failure(load());
    expect(own.diagnostics[0]).toMatchObject({ file: 'compose.yaml', line: 4, col: 14 });
  });

  it('names a cycle and an unknown service at the `extends` key', async () => {
    await write('compose.yaml', `services:\n  a:\n    extends: b\n  b:\n    extends: a\n  c:\n    image: c:1\n    extends: { service: nope }\n`);
    const error = await failure(load());
    const codes = error.diagnostics.map((diagnostic) => `${diagnostic.code}@${diagnostic.line}`);
    expect(codes).toContain('EXTENDS_CYCLE@3');
    expect(codes).toContain('UNKNOWN_SERVICE@8');
    expect(error.diagnostics.find((diagnostic) => diagnostic.code === 'EXTENDS_CYCLE')!.message).toMatch(/compose\.yaml:a -> compose\.yaml:b -> compose\.yaml:a/);
  });
});

describe('several Compose files', () => {
  const base = `services:\n  web:\n    image: web:1\n    environment: { LEVEL: info }\n    ports: ["8080:80"]\n  db:\n    image: db:1\nvolumes: { data: { labels: { a: "1" } } }\n`;

  it('merges --file a --file b in order, like docker-compose -f a -f b', async () => {
    await write('compose.yaml', base);
    await write('prod.yaml', `services:\n  web:\n    environment: { LEVEL: warn }\n    restart: always\n    ports: ["8443:443"]\nvolumes: { data: { labels: { b: "2" } } }\n`);
    const model = await load({ file: 'compose.yaml', overrideFiles: ['prod.yaml'] });
    expect(model.services.web!.environment.LEVEL).toBe('warn');
    expect(model.services.web!.restart).toBe('always');
    expect(model.services.web!.ports.map((port) => port.target).sort()).toEqual([443, 80]);
    // Top-level entries are replaced whole by a later file (Compose's rule).
    expect(model.volumes.data!.labels).toEqual({ b: '2' });
  });

  it('applies compose.override.yaml beside a Compose file the lookup found, and not one named with --file', async () => {
    await write('compose.yaml', base);
    await write('compose.override.yaml', `services:\n  web:\n    environment: { LEVEL: debug }\n`);
    expect((await load()).services.web!.environment.LEVEL).toBe('debug');
    expect((await load({ file: 'compose.yaml' })).services.web!.environment.LEVEL).toBe('info');
    await write('docker-compose.override.yml', 'services: {}\n');
    await expect(load()).rejects.toBeInstanceOf(UsageError);
  });

  it('locates an error at the file that wrote the value', async () => {
    await write('compose.yaml', base);
    await write('bad.yaml', `services:\n  db:\n    restart: sometimes\n`);
    const error = await failure(load({ file: 'compose.yaml', overrideFiles: ['bad.yaml'] }));
    expect(error.diagnostics[0]).toMatchObject({ file: 'bad.yaml', line: 3, col: 14 });
  });

  it('merges services key by key with Compose rules', () => {
    expect(
      mergeServices(
        { environment: ['A=1', 'B=2'], depends_on: ['db'], command: ['a'], volumes: ['x:/data', '/cache'], healthcheck: { test: ['CMD', 'a'], interval: '1s' } },
        { environment: { B: '3' }, depends_on: { cache: { condition: 'service_healthy' } }, command: ['b'], volumes: ['y:/data'], healthcheck: { interval: '2s' } },
      ),
    ).toEqual({
      environment: { A: '1', B: '3' },
      depends_on: { db: { condition: 'service_started' }, cache: { condition: 'service_healthy' } },
      command: ['b'],
      volumes: ['y:/data', '/cache'],
      healthcheck: { test: ['CMD', 'a'], interval: '2s' },
    });
    expect(mergeComposeFiles({ name: 'a', networks: { n: { internal: true } } }, { name: 'b', networks: { m: {} } })).toEqual({ name: 'b', networks: { n: { internal: true }, m: {} } });
  });
});

describe('Compose keys envctl cannot run yet', () => {
  const text = `services:\n  web:\n    image: web:1\n    hostname: web\n    build:\n      context: .\n      cache_from: [x]\n`;

  it('are warnings at their key for validate/plan, and errors for commands that run the definition', async () => {
    await write('Dockerfile', 'FROM scratch\n');
    await write('compose.yaml', text);
    const model = await load({ unsupportedKeys: 'warn' });
    expect(model.warnings.filter((warning) => warning.code === 'UNSUPPORTED_KEY').map((warning) => `${warning.path}@${warning.line}:${warning.col}`)).toEqual([
      'services.web.hostname@4:5',
      'services.web.build.cache_from@7:7',
    ]);
    const error = await failure(load());
    expect(error.diagnostics.map((diagnostic) => `${diagnostic.code}@${diagnostic.line}:${diagnostic.col}`)).toEqual(['UNSUPPORTED_KEY@4:5', 'UNSUPPORTED_KEY@7:7']);
  });
});

describe('env_file long form', () => {
  it('reads {path, required}: a missing optional file is skipped, a missing required one is named at its entry', async () => {
    await write('base.env', 'A=1\nB=base\n');
    await write('compose.yaml', `services:\n  web:\n    image: web:1\n    env_file:\n      - base.env\n      - path: ./local.env\n        required: false\n    environment: { B: own }\n`);
    expect((await load()).services.web!.environment).toMatchObject({ A: '1', B: 'own' });
    await write('local.env', 'A=local\n');
    expect((await load()).services.web!.environment.A).toBe('local');
    await write('compose.yaml', `services:\n  web:\n    image: web:1\n    env_file:\n      - path: ./missing.env\n`);
    const error = await failure(load());
    expect(error.diagnostics[0]).toMatchObject({ code: 'ENV_FILE', line: 5, col: 9 });
  });
});

describe('Compose keys below the service level', () => {
  it('names ipam, bind propagation and mount consistency as not supported yet (not unknown), in both modes', async () => {
    await write(
      'compose.yaml',
      `services:\n  web:\n    image: web:1\n    volumes:\n      - type: volume\n        source: data\n        target: /data\n        consistency: cached\n        volume: { subpath: x }\nvolumes: { data: {} }\nnetworks:\n  back:\n    ipam: { config: [{ subnet: 10.9.0.0/16 }] }\n`,
    );
    const warned = (await load({ unsupportedKeys: 'warn' })).warnings.filter((warning) => warning.code === 'UNSUPPORTED_KEY');
    expect(warned.map((warning) => `${warning.path}@${warning.line}:${warning.col}`)).toEqual(['services.web.volumes[0].consistency@8:9', 'services.web.volumes[0].volume.subpath@9:19', 'networks.back.ipam@13:5']);
    const error = await failure(load());
    expect(error.diagnostics.map((diagnostic) => `${diagnostic.code}@${diagnostic.line}:${diagnostic.col}`)).toEqual(['UNSUPPORTED_KEY@8:9', 'UNSUPPORTED_KEY@9:19', 'UNSUPPORTED_KEY@13:5']);
  });
});

describe('short-form mounts', () => {
  it('clean the container path like Compose (`/data/` → `/data`)', () => {
    expect(parseVolumeShort('data:/var/lib/postgresql/data/').target).toBe('/var/lib/postgresql/data');
    expect(parseVolumeShort('./x:/a//b/:ro')).toMatchObject({ target: '/a/b', readOnly: true });
    expect(parseVolumeShort('/cache/').target).toBe('/cache');
  });
});
