/**
 * `envctl export compose`: the oracle is a round trip. The exported file, loaded back by envctl,
 * must give the same services, volumes and networks as the definition it came from.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { exportCompose, formatDuration } from '../../src/definition/export-compose.js';
import { loadDefinition, type LoadOptions } from '../../src/definition/resolve.js';
import type { EnvironmentModel } from '../../src/definition/model.js';

const DEMO = fileURLToPath(new URL('../../environments/demo/envctl.yaml', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-export-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Exports `load` to a file, loads that file back, and returns both models. */
async function roundTrip(load: LoadOptions): Promise<{ original: EnvironmentModel; exported: EnvironmentModel; text: string }> {
  // Its own folder, away from the definition: the exported paths must not depend on where it lands.
  const out = await mkdtemp(join(dir, 'out-'));
  const output = join(out, 'compose.yaml');
  await exportCompose({ load, output });
  const original = await loadDefinition(load);
  const exported = await loadDefinition({ cwd: out, file: output, processEnv: {} });
  return { original, exported, text: await readFile(output, 'utf8') };
}

/** Field by field, so a failure names the service and the field. `profiles` is not exported (the services are already chosen). */
function expectSameEnvironment(exported: EnvironmentModel, original: EnvironmentModel): void {
  expect(Object.keys(exported.services)).toEqual(Object.keys(original.services));
  for (const [name, service] of Object.entries(original.services)) {
    // Toggle declarations are envctl's own (left out of the Compose file); their FEATURE_* values are in `environment`.
    const { profiles: _profiles, features: _features, ...fields } = service;
    for (const [field, value] of Object.entries(fields)) {
      expect({ service: name, field, value: (exported.services[name] as unknown as Record<string, unknown>)[field] }).toEqual({ service: name, field, value });
    }
  }
  expect({ ...exported.volumes }).toEqual({ ...original.volumes });
  expect({ ...exported.networks }).toEqual({ ...original.networks });
}

const FIXTURE = `
name: shop
services:
  api:
    build:
      context: ./api
      dockerfile: build/Dockerfile.dev
      args: { NODE_ENV: production, SALT: "s$$lt" }
      target: runtime
    image: shop/api:dev
    command: ["node", "server.js", "--price", "$$5"]
    entrypoint: ["tini", "--"]
    environment:
      PLAIN: value
      DOLLAR: "pa$$word"
      LITERAL_REF: "$\${NOT_A_VAR}"
      FROM_HOST: \${API_TOKEN}
      NUMERIC: 42
      YAMLISH: "no"
      OCTAL_IN_YAML_1_2: "0o17"
    ports:
      - "127.0.0.1:8080:3000"
      - "0.0.0.0::9229"
      - "[::1]:5353:53/udp"
    expose: ["4000", "4001/udp"]
    volumes:
      - data:/data
      - "./config:/etc/api:ro"
      - /anonymous
      - { type: tmpfs, target: /scratch, tmpfs: { size: 64m } }
    networks:
      front: { aliases: [api.internal, shop-api] }
      back: {}
    depends_on:
      db: { condition: service_healthy }
      cache: { condition: service_started, required: false, restart: true }
      migrate: { condition: service_completed_successfully }
    healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:3000/$$health"], interval: 1500ms, timeout: 500ms, retries: 7, start_period: 1m30s, start_interval: 2s }
    restart: on-failure:3
    labels: { team: shop, "com.example.cost": "$$0" }
    working_dir: /srv/api
    user: "1000:1000"
    init: false
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    features: [fast-checkout]
  db:
    image: postgres:16
    healthcheck: { test: pg_isready, interval: 2s }
    networks: [back]
    restart: unless-stopped
  cache:
    image: redis:7
    healthcheck: { disable: true }
    profiles: [extras]
  migrate:
    image: shop/migrate
    command: migrate up
    networks: [back]
volumes:
  data:
    driver: local
    driver_opts: { type: none, o: bind, device: ./data }
    labels: { backup: daily }
  shared: { external: true }
networks:
  front: { driver: bridge, attachable: true, labels: { zone: dmz }, driver_opts: { com.docker.network.bridge.name: shopfront } }
  back: { internal: true, name: shop-back }
  outside: { external: true, name: corp-net }
features:
  fast-checkout: true
pipeline:
  build: { run: ["true"] }
environments:
  staging:
    services: { api: { environment: { PLAIN: staged } } }
`;

async function writeFixture(): Promise<string> {
  await mkdir(join(dir, 'api', 'build'), { recursive: true });
  await writeFile(join(dir, 'api', 'build', 'Dockerfile.dev'), 'FROM scratch\n');
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, FIXTURE);
  return file;
}

describe('envctl export compose', () => {
  it('round-trips the demo definition (base and an overlay)', async () => {
    for (const env of [undefined, 'local']) {
      const { original, exported, text } = await roundTrip({ cwd: dir, file: DEMO, env, processEnv: {} });
      expectSameEnvironment(exported, original);
      expect(text).toContain(`# Exported by envctl from ${DEMO} (env ${env ?? 'default'}), project demo`);
      expect(text).not.toMatch(/^(pipeline|features|environments):/m);
    }
  });

  it('round-trips every exported field, with $ surviving literally', async () => {
    const file = await writeFixture();
    const { original, exported, text } = await roundTrip({ cwd: dir, file, env: 'staging', profiles: ['extras'], processEnv: { API_TOKEN: 'tok$en' } });
    expectSameEnvironment(exported, original);

    const api = exported.services.api!;
    expect(api.environment).toMatchObject({ PLAIN: 'staged', DOLLAR: 'pa$word', LITERAL_REF: '${NOT_A_VAR}', FROM_HOST: 'tok$en', NUMERIC: '42', YAMLISH: 'no', OCTAL_IN_YAML_1_2: '0o17', FEATURE_FAST_CHECKOUT: 'true' });
    expect(api.command).toEqual(['node', 'server.js', '--price', '$5']);
    expect(api.build).toEqual({ context: join(dir, 'api'), dockerfile: 'build/Dockerfile.dev', args: { NODE_ENV: 'production', SALT: 's$lt' }, target: 'runtime' });
    expect(api.mounts[1]).toEqual({ type: 'bind', source: join(dir, 'config'), target: '/etc/api', readOnly: true });
    expect(exported.services.cache!.healthcheck).toEqual({ disabled: true });
    expect(Object.keys(exported.volumes)).toEqual(['data', 'shared']);
    expect(exported.networks.outside).toMatchObject({ name: 'corp-net', external: true });

    // As Compose reads it: escaped dollars, durations, short ports with the host address.
    expect(text).toContain('DOLLAR: pa$$word');
    expect(text).toContain('LITERAL_REF: $${NOT_A_VAR}');
    expect(text).toContain('interval: 1s500ms');
    expect(text).toContain('stop_grace_period: 1m30s');
    expect(text).toContain('- "[::1]:5353:53/udp"');
    expect(text).toContain('- 0.0.0.0::9229/tcp');
    expect(text).toContain('YAMLISH: "no"');
    expect(text).not.toMatch(/^(pipeline|features|environments):/m);
  });

  it.each([
    [1000, '1s'],
    [500, '500ms'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [1500, '1s500ms'],
    [0.25, '250us'],
    [0, '0s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('refuses to overwrite a file without --force (exit 2), and replaces it with --force', async () => {
    const output = join(dir, 'compose.yaml');
    await writeFile(output, 'keep me\n');
    const load: LoadOptions = { cwd: dir, file: DEMO, processEnv: {} };
    const refused = await exportCompose({ load, output: 'compose.yaml' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UsageError);
    expect(refused).toMatchObject({ code: 'OUTPUT_EXISTS', exitCode: 2 });
    expect(await readFile(output, 'utf8')).toBe('keep me\n');

    const result = await exportCompose({ load, output: 'compose.yaml', force: true });
    expect(result.output).toBe(output);
    expect(await readFile(output, 'utf8')).toBe(result.compose);
  });

  it('returns the text for stdout when no file is given', async () => {
    const result = await exportCompose({ load: { cwd: dir, file: DEMO, processEnv: {} } });
    expect(result.output).toBeUndefined();
    expect(result.compose).toMatch(/^services:$/m);
  });
});
