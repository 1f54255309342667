import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffDefinitionEnvironments, diffEnvironments, isSecretName, renderDiffText } from '../../src/definition/diff.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { UsageError } from '../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-diff-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(yaml: string): Promise<string> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return file;
}

async function diffOf(yaml: string, a: string, b: string) {
  const file = await write(yaml);
  return diffDefinitionEnvironments({ cwd: dir, file, processEnv: {} }, a, b);
}

const SHOP = `
name: shop
services:
  db:
    image: envctl/base-postgres:15
    environment: { POSTGRES_PASSWORD: hunter2 }
    volumes: ["dbdata:/var/lib/postgresql/data"]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s }
  web:
    image: shop/web:1
    command: ["node", "server.js"]
    ports: ["8080:3000"]
    environment: { LOG_LEVEL: info, API_TOKEN: abc, OLD_FLAG: "1" }
    depends_on: { db: { condition: service_healthy } }
    features: [new-checkout]
volumes: { dbdata: {} }
features: { new-checkout: false }
environments:
  ci: {}
  local:
    services:
      db:
        environment: { POSTGRES_PASSWORD: local-only }
        healthcheck: { interval: 5s }
      web:
        image: shop/web:2
        command: ["node", "--inspect", "server.js"]
        ports: ["9090:3000"]
        environment: { LOG_LEVEL: debug, API_TOKEN: xyz, OLD_FLAG: null, DEBUG: "1" }
        volumes: ["./src:/app/src:ro"]
        restart: unless-stopped
        user: node
      tools:
        image: envctl/base-debian:12
    features: { new-checkout: true }
`;

describe('diffEnvironments', () => {
  it('names every differing field per service, masks secret values, lists services only in one', async () => {
    const diff = await diffOf(SHOP, 'default', 'local');
    expect(renderDiffText(diff)).toBe(
      [
        'diff for shop: default → local',
        '  db',
        '    environment  ~ POSTGRES_PASSWORD: *** → *** (values hidden, they differ)',
        '    healthcheck  ~ ["CMD","pg_isready"], interval 1s, timeout 30s, retries 3 → ["CMD","pg_isready"], interval 5s, timeout 30s, retries 3',
        '  web',
        '    image        ~ shop/web:1 → shop/web:2',
        '    command      ~ ["node","server.js"] → ["node","--inspect","server.js"]',
        '    environment  ~ LOG_LEVEL: info → debug',
        '    environment  ~ API_TOKEN: *** → *** (values hidden, they differ)',
        '    environment  - OLD_FLAG: 1',
        '    environment  ~ FEATURE_NEW_CHECKOUT: false → true',
        '    environment  + DEBUG: 1',
        '    ports        - 127.0.0.1:8080:3000/tcp',
        '    ports        + 127.0.0.1:9090:3000/tcp',
        '    mounts       + ./src:/app/src:ro (bind)',
        '    restart      ~ no → unless-stopped',
        '    user         + node',
        '  tools  only in local',
        '  features',
        '    ~ new-checkout: false → true',
        'summary: 2 service(s) differ, 1 only in local, 1 feature(s) differ',
        '',
      ].join('\n'),
    );
    expect(diff.same).toBe(false);
    expect(diff.onlyIn).toEqual({ a: [], b: ['tools'] });
    expect(diff.services.find((service) => service.service === 'web')!.changes).toContainEqual({ field: 'environment', key: 'API_TOKEN', a: '***', b: '***', masked: true });
    // A secret's value never reaches the output, text or JSON.
    expect(JSON.stringify(diff)).not.toMatch(/hunter2|local-only|abc|xyz/);
  });

  it('reports no differences between equal environments, and for an environment against itself', async () => {
    for (const [a, b] of [['default', 'ci'], ['local', 'local']] as const) {
      const diff = await diffOf(SHOP, a, b);
      expect(diff.same).toBe(true);
      expect(renderDiffText(diff)).toBe(`diff for shop: ${a} → ${b}\n  no differences\n`);
    }
  });

  it('compares built images by context, dockerfile, target and (masked) build args', async () => {
    await mkdir(join(dir, 'web'));
    await mkdir(join(dir, 'web-next'));
    await writeFile(join(dir, 'web', 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(dir, 'web-next', 'Dockerfile.prod'), 'FROM scratch\n');
    const diff = await diffOf(
      `
name: shop
services:
  web:
    build: { context: ./web, args: { NODE_ENV: development, NPM_TOKEN: secret-one } }
environments:
  prod:
    services:
      web:
        build: { context: ./web-next, dockerfile: Dockerfile.prod, target: runtime, args: { NODE_ENV: production, NPM_TOKEN: secret-two } }
`,
      'default',
      'prod',
    );
    expect(diff.services).toEqual([
      {
        service: 'web',
        changes: [
          { field: 'image', a: 'built from ./web', b: 'built from ./web-next (dockerfile Dockerfile.prod, target runtime)' },
          { field: 'build_args', key: 'NODE_ENV', a: 'development', b: 'production' },
          { field: 'build_args', key: 'NPM_TOKEN', a: '***', b: '***', masked: true },
        ],
      },
    ]);
  });

  it('compares networks, dependencies, volumes and services removed by an overlay', async () => {
    const diff = await diffOf(
      `
name: shop
services:
  api: { image: a:1, networks: [front, back], depends_on: [cache] }
  cache: { image: redis:7, networks: [back] }
  legacy: { image: old:1 }
networks: { front: {}, back: {} }
volumes: { data: {} }
environments:
  prod:
    services:
      api: { networks: { front: { aliases: [api.internal] } }, depends_on: null }
      cache: { networks: [front] }
      legacy: null
    networks: { back: null, front: { internal: true } }
    volumes: { data: { external: true, name: shared-data } }
`,
      'default',
      'prod',
    );
    expect(renderDiffText(diff)).toBe(
      [
        'diff for shop: default → prod',
        '  api',
        '    networks    - front',
        '    networks    - back',
        '    networks    + front (aliases api.internal)',
        '    depends_on  - cache (service_started)',
        '  cache',
        '    networks  - back',
        '    networks  + front',
        '  legacy  only in default',
        '  volumes',
        '    ~ data: driver local → external shared-data',
        '  networks',
        '    ~ front: driver bridge → driver bridge, internal',
        '    - back: driver bridge',
        // The implicit default network: only `legacy` used it.
        '    - default: driver bridge',
        'summary: 2 service(s) differ, 1 only in default, 1 volume(s) differ, 3 network(s) differ',
        '',
      ].join('\n'),
    );
  });

  it('is symmetric: B against A swaps every side', async () => {
    const file = await write(SHOP);
    const [base, local] = await Promise.all([loadDefinition({ cwd: dir, file, processEnv: {} }), loadDefinition({ cwd: dir, file, env: 'local', processEnv: {} })]);
    const forward = diffEnvironments(base, local);
    const backward = diffEnvironments(local, base);
    expect(backward.onlyIn).toEqual({ a: forward.onlyIn.b, b: forward.onlyIn.a });
    const swap = (changes: typeof forward.services[number]['changes']) => changes.map(({ a, b, ...rest }) => ({ ...rest, a: b, b: a }));
    expect(backward.services.map((service) => service.service)).toEqual(forward.services.map((service) => service.service));
    for (const service of forward.services) {
      const changes = backward.services.find((other) => other.service === service.service)!.changes;
      expect(changes).toHaveLength(service.changes.length);
      expect(changes).toEqual(expect.arrayContaining(swap(service.changes)));
    }
  });

  it('refuses an environment the definition does not declare, listing those it has (exit 2)', async () => {
    const error = await diffOf(SHOP, 'default', 'lokal').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toBe('the definition has no environment "lokal"');
    expect((error as UsageError).hint).toBe('environments: default, ci, local (did you mean local?)');
  });

  it.each([
    ['POSTGRES_PASSWORD', true],
    ['api_token', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['SSH_KEY_FILE', true],
    ['GCP_CREDENTIALS', true],
    ['LOG_LEVEL', false],
    ['DATABASE_URL', false],
  ])('treats %s as secret: %s', (name, secret) => {
    expect(isSecretName(name)).toBe(secret);
  });
});
