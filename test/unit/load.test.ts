import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { definitionJsonSchema } from '../../src/definition/json-schema.js';
import { findDefinitionFile, loadDefinition, mergeOverlay, validateAllEnvironments } from '../../src/definition/resolve.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string, options: { env?: string; processEnv?: Record<string, string>; profiles?: string[]; name?: string } = {}) {
  const file = join(dir, options.name ?? 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, env: options.env, profiles: options.profiles, processEnv: options.processEnv ?? {} });
}

describe('loading a definition', () => {
  it('normalises Compose short and long forms into one model', async () => {
    const model = await load(`
services:
  web:
    image: web
    command: node server.js --port "3000"
    environment: [A=1, "B=two words", C]
    ports: [3000, "8080:3001", "[::1]:9000:9000/udp", { target: 4000, published: "4001", host_ip: 0.0.0.0 }]
    volumes: [/anon, "data:/data:ro", { type: tmpfs, target: /tmp, tmpfs: { size: 64m } }]
    networks: [front]
    depends_on: [db]
    labels: [team=shop]
    init: false
  db:
    image: db
    healthcheck: { test: pg_isready, start_period: 10s, start_interval: 1s }
    restart: on-failure:3
    stop_grace_period: 1m30s
volumes: { data: }
networks: { front: }
`, { processEnv: { C: 'from-host' } });
    const web = model.services.web!;
    expect(web.command).toEqual(['node', 'server.js', '--port', '3000']);
    expect(web.environment).toEqual({ A: '1', B: 'two words', C: 'from-host' });
    expect(web.ports).toEqual([
      { target: 3000, published: undefined, hostIp: '127.0.0.1', protocol: 'tcp' },
      { target: 3001, published: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
      { target: 9000, published: 9000, hostIp: '::1', protocol: 'udp' },
      { target: 4000, published: 4001, hostIp: '0.0.0.0', protocol: 'tcp' },
    ]);
    expect(web.mounts).toEqual([
      { type: 'volume', source: undefined, target: '/anon', readOnly: false },
      { type: 'volume', source: 'data', target: '/data', readOnly: true },
      { type: 'tmpfs', source: undefined, target: '/tmp', readOnly: false, tmpfsSize: 64 * 1024 * 1024 },
    ]);
    expect(web.networks).toEqual({ front: { aliases: [] } });
    expect(web.dependsOn).toEqual({ db: { condition: 'service_started', required: true, restart: false } });
    expect(web.labels).toEqual({ team: 'shop' });
    expect(web.init).toBe(false);
    const db = model.services.db!;
    expect(db.init).toBe(true);
    expect(db.healthcheck).toEqual({ disabled: false, test: ['CMD-SHELL', 'pg_isready'], intervalMs: 30000, timeoutMs: 30000, retries: 3, startPeriodMs: 10000, startIntervalMs: 1000 });
    expect(db.restart).toBe('on-failure:3');
    expect(db.stopGracePeriodMs).toBe(90_000);
    expect(db.networks).toEqual({ default: { aliases: [] } });
    expect(Object.keys(model.networks)).toEqual(['front', 'default']);
    expect(model.volumes.data!.name).toBe(`${model.project}_data`);
  });

  it('interpolates from the process environment over .env, with defaults and $$', async () => {
    await writeFile(join(dir, '.env'), 'TAG=from-dotenv\nPORT=7000\n');
    const model = await load(`
services:
  web:
    image: "web:\${TAG}"
    ports: ["\${PORT}:3000"]
    environment: { LEVEL: "\${LEVEL:-info}", PRICE: "$$5", EMPTY: "\${UNSET_VAR}" }
`, { processEnv: { PORT: '7001' } });
    expect(model.services.web!.image).toBe('web:from-dotenv');
    expect(model.services.web!.ports[0]!.published).toBe(7001);
    expect(model.services.web!.environment).toMatchObject({ LEVEL: 'info', PRICE: '$5', EMPTY: '' });
    expect(model.warnings.map((warning) => warning.code)).toEqual(['UNSET_VARIABLE']);
  });

  it('applies an environment overlay: maps merge, lists replace, null removes', async () => {
    const yaml = `
name: shop
services:
  web:
    image: web
    environment: { A: "1", B: "2" }
    ports: ["8080:3000", "8443:3443"]
    labels: { keep: "yes", drop: "yes" }
environments:
  ci:
    services:
      web:
        environment: { B: "ci" }
        ports: ["9080:3000"]
        labels: { drop: null }
`;
    const base = await load(yaml);
    const ci = await load(yaml, { env: 'ci' });
    expect(base.env).toBe('default');
    expect(ci.env).toBe('ci');
    expect(ci.prefix).toBe('shop-ci');
    expect(ci.services.web!.environment).toEqual({ A: '1', B: 'ci' });
    expect(ci.services.web!.ports.map((port) => port.published)).toEqual([9080]);
    expect(ci.services.web!.labels).toEqual({ keep: 'yes' });
    expect(base.services.web!.ports.map((port) => port.published)).toEqual([8080, 8443]);
    expect(mergeOverlay({ a: { b: 1, c: [1, 2] } }, { a: { c: [3], d: null } })).toEqual({ a: { b: 1, c: [3] } });
  });

  it('rejects an unknown --env with a did-you-mean', async () => {
    await expect(load('services: { web: { image: web } }\nenvironments: { staging: {} }\n', { env: 'stagng' })).rejects.toMatchObject({
      code: 'UNKNOWN_ENVIRONMENT',
      exitCode: 2,
      hint: 'did you mean --env staging?',
    });
  });

  it('validates every environment overlay, not only the base', async () => {
    const file = join(dir, 'envctl.yaml');
    await writeFile(file, 'services: { web: { image: web } }\nenvironments:\n  ok: {}\n  broken:\n    services: { web: { ports: ["abc"] } }\n');
    await expect(validateAllEnvironments({ cwd: dir, file, processEnv: {} })).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ line: 5, message: expect.stringContaining('(environment broken)') })],
    });
  });

  it('reads env_file values, which `environment` overrides, and injects the feature toggles a service declares', async () => {
    await writeFile(join(dir, 'web.env'), 'FROM_FILE=1\nOVERRIDDEN=file\n');
    const model = await load(`
services:
  web: { image: web, env_file: web.env, environment: { OVERRIDDEN: yaml, FEATURE_DARK_MODE: "forced" }, features: [new-checkout, dark-mode] }
  db: { image: db }
features: { new-checkout: true, dark-mode: false }
`);
    expect(model.services.web!.environment).toEqual({ FROM_FILE: '1', OVERRIDDEN: 'yaml', FEATURE_NEW_CHECKOUT: 'true', FEATURE_DARK_MODE: 'forced' });
    // A service that declares no toggle gets none.
    expect(model.services.db!.environment).toEqual({});
  });

  it('activates profiled services only when their profile is enabled', async () => {
    const yaml = 'services:\n  web: { image: web }\n  debug: { image: busybox, profiles: [debug] }\n';
    expect(Object.keys((await load(yaml)).services)).toEqual(['web']);
    expect(Object.keys((await load(yaml, { profiles: ['debug'] })).services)).toEqual(['web', 'debug']);
    expect(Object.keys((await load(yaml, { processEnv: { COMPOSE_PROFILES: 'debug' } })).services)).toEqual(['web', 'debug']);
  });

  it('ignores x- extension keys in structural places but keeps them as data', async () => {
    const model = await load(`
x-defaults: { anything: [1, 2] }
services:
  web:
    image: web
    x-note: ignored
    environment: { x-not-an-extension: kept }
    healthcheck: { test: ["CMD", "true"], x-why: because }
`);
    expect(model.services.web!.environment).toEqual({ 'x-not-an-extension': 'kept' });
  });

  it('takes the project name from `name:` or the folder, and reads a plain compose.yaml', async () => {
    const sub = join(dir, 'My Project');
    await mkdir(sub);
    await writeFile(join(sub, 'compose.yaml'), 'services: { web: { image: web } }\n');
    const found = await findDefinitionFile({ cwd: sub, processEnv: {} });
    expect(found).toBe(join(sub, 'compose.yaml'));
    const model = await loadDefinition({ cwd: sub, processEnv: {} });
    expect(model.project).toBe('myproject');
  });

  it('finds the definition in a parent folder, and says where it looked when there is none', async () => {
    await writeFile(join(dir, 'envctl.yaml'), 'services: { web: { image: web } }\n');
    const nested = join(dir, 'a', 'b');
    await mkdir(nested, { recursive: true });
    expect(await findDefinitionFile({ cwd: nested, processEnv: {} })).toBe(join(dir, 'envctl.yaml'));
    expect(await findDefinitionFile({ cwd: nested, processEnv: { ENVCTL_FILE: 'x.yaml' } })).toBe(join(nested, 'x.yaml'));
  });
});

describe('JSON Schema', () => {
  it('matches the committed schema/envctl.schema.json (run `npm run schema` after changing the schema)', async () => {
    const committed = JSON.parse(await readFile(new URL('../../schema/envctl.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(definitionJsonSchema());
  });

  it('closes objects but allows x- extensions, like the Compose spec', () => {
    const schema = definitionJsonSchema() as { additionalProperties: boolean; patternProperties: Record<string, unknown>; properties: Record<string, unknown> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.patternProperties).toHaveProperty('^x-');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['services', 'volumes', 'networks', 'features', 'pipeline', 'environments']));
  });
});

describe('loading for teardown and inspection (every profile on)', () => {
  it('accepts services of different profiles that publish the same host port', async () => {
    const yaml = 'services:\n  v1: { image: api, ports: ["8080:80"], profiles: [v1] }\n  v2: { image: api, ports: ["8080:80"], profiles: [v2] }\n';
    expect(Object.keys((await load(yaml, { profiles: ['v1'] })).services)).toEqual(['v1']);
    expect(Object.keys((await load(yaml, { profiles: ['*'] })).services)).toEqual(['v1', 'v2']);
    await expect(load(yaml, { profiles: ['v1', 'v2'] })).rejects.toMatchObject({ diagnostics: [expect.objectContaining({ code: 'PORT_CLASH' })] });
  });
});

describe('privileged host paths', () => {
  const cases: Array<[string, string]> = [
    ['the whole filesystem', '/:/host'],
    ['the host configuration', '/etc/ssl:/certs:ro'],
    ['the Docker socket', '/var/run/docker.sock:/var/run/docker.sock'],
  ];
  it.each(cases)('refuses a bind mount of %s without --allow-privileged (exit 2)', async (_what, volume) => {
    const yaml = `services:\n  web: { image: web, volumes: ["${volume}"] }\n`;
    await expect(load(yaml)).rejects.toMatchObject({ exitCode: 2, diagnostics: [expect.objectContaining({ code: 'PRIVILEGED_MOUNT', line: 2 })] });
    const file = join(dir, 'envctl.yaml');
    const allowed = await loadDefinition({ cwd: dir, file, processEnv: {}, allowPrivileged: true });
    expect(allowed.services.web!.mounts[0]!.type).toBe('bind');
  });

  it('allows ordinary bind mounts', async () => {
    const model = await load('x-envctl-allow-paths: [/tmp/cache]\nservices:\n  web: { image: web, volumes: ["./src:/app/src:ro", "/tmp/cache:/cache"] }\n');
    expect(model.services.web!.mounts.map((mount) => mount.source)).toEqual([join(dir, 'src'), '/tmp/cache']);
  });
});
