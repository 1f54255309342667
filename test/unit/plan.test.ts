import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../src/definition/model.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import type { ObservedContainer, ObservedState } from '../../src/engine/types.js';
import { LABEL } from '../../src/labels.js';
import { formatFieldHashes, hashService } from '../../src/plan/hash.js';
import { containerNameFor, dependencyOrder, desiredImage, planEnvironment, renderPlanText } from '../../src/plan/plan.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-plan-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function model(yaml: string, env?: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, env, processEnv: {} });
}

const BASE = `
name: shop
services:
  db:
    image: envctl/base-postgres:15
    volumes: ["dbdata:/var/lib/postgresql/data"]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s }
  cache:
    image: envctl/base-redis:7
  web:
    image: shop/web:1
    ports: ["8080:3000"]
    environment: { LOG_LEVEL: info }
    depends_on: { db: { condition: service_healthy }, cache: { condition: service_started } }
volumes: { dbdata: {} }
`;

/** A container as `up` would have created it from `source` (same labels, same hashes). */
function containerFrom(source: EnvironmentModel, service: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  const spec = source.services[service]!;
  const hash = hashService(spec, desiredImage(source, spec, {}), source);
  return {
    id: `id-${service}`,
    name: containerNameFor(source, service),
    service,
    state: 'running',
    health: undefined,
    image: desiredImage(source, spec, {}),
    created: 0,
    ports: [],
    labels: {
      [LABEL.project]: source.project,
      [LABEL.env]: source.env,
      [LABEL.service]: service,
      [LABEL.configHash]: hash.configHash,
      [LABEL.fieldHashes]: formatFieldHashes(hash.fields),
    },
    ...overrides,
  };
}

function observed(source: EnvironmentModel, containers: ObservedContainer[], extra: Partial<ObservedState> = {}): ObservedState {
  return {
    containers,
    networks: Object.values(source.networks).map((network) => ({ id: network.name, name: network.name, key: network.key, labels: {} })),
    volumes: Object.values(source.volumes).map((volume) => ({ name: volume.name, key: volume.key, labels: {} })),
    images: new Set(Object.values(source.services).map((service) => service.image!)),
    ...extra,
  };
}

describe('planEnvironment', () => {
  it('creates everything on an empty engine, dependencies first', async () => {
    const desired = await model(BASE);
    const plan = planEnvironment({ model: desired, observed: { containers: [], networks: [], volumes: [], images: new Set() }, buildDigests: {}, removeOrphans: false });
    expect(renderPlanText(plan)).toBe(
      [
        'plan for shop (env default)',
        '  create       network shop_default  new network',
        '  create       volume shop_dbdata    new volume',
        '  create       db                    new service',
        '  create       cache                 new service',
        '  create       web                   new service',
        '  warning: service "db": image envctl/base-postgres:15 is not present in the engine',
        '  warning: service "cache": image envctl/base-redis:7 is not present in the engine',
        '  warning: service "web": image shop/web:1 is not present in the engine',
        'summary: 3 to create',
        '',
      ].join('\n'),
    );
  });

  it('keeps everything when nothing changed (a second up is a no-op)', async () => {
    const desired = await model(BASE);
    const plan = planEnvironment({
      model: desired,
      observed: observed(desired, ['db', 'cache', 'web'].map((name) => containerFrom(desired, name))),
      buildDigests: {},
      removeOrphans: false,
    });
    expect(renderPlanText(plan)).toBe(
      [
        'plan for shop (env default)',
        '  keep         network shop_default  exists',
        '  keep         volume shop_dbdata    exists',
        '  keep         db                    unchanged',
        '  keep         cache                 unchanged',
        '  keep         web                   unchanged',
        'summary: no changes (3 to keep)',
        '',
      ].join('\n'),
    );
  });

  const changes: Array<[string, string, string]> = [
    ['an environment variable', BASE.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'), 'changed: environment'],
    ['a published port', BASE.replace('"8080:3000"', '"8081:3000"'), 'changed: ports'],
    ['the image', BASE.replace('shop/web:1', 'shop/web:2'), 'changed: image'],
    ['the command', BASE.replace('    image: shop/web:1', '    image: shop/web:1\n    command: ["node", "server.js"]'), 'changed: command'],
    ['a mount', BASE.replace('    image: shop/web:1', '    image: shop/web:1\n    volumes: ["./data:/data:ro"]'), 'changed: mounts'],
    ['the user and labels', BASE.replace('    image: shop/web:1', '    image: shop/web:1\n    user: "1000"\n    labels: { team: a }'), 'changed: labels, user'],
  ];
  it.each(changes)('recreates only the changed service when %s changes, naming the field', async (_what, changedYaml, reason) => {
    const before = await model(BASE);
    const after = await model(changedYaml);
    const plan = planEnvironment({ model: after, observed: observed(before, ['db', 'cache', 'web'].map((name) => containerFrom(before, name))), buildDigests: {}, removeOrphans: false });
    const byService = Object.fromEntries(plan.actions.filter((action) => action.subject === 'service').map((action) => [action.name, `${action.kind}: ${action.reason}`]));
    expect(byService).toEqual({ db: 'keep: unchanged', cache: 'keep: unchanged', web: `recreate: ${reason}` });
  });

  it('starts a stopped container and recreates a dead one', async () => {
    const desired = await model(BASE);
    const plan = planEnvironment({
      model: desired,
      observed: observed(desired, [containerFrom(desired, 'db', { state: 'exited' }), containerFrom(desired, 'cache', { state: 'dead' }), containerFrom(desired, 'web')]),
      buildDigests: {},
      removeOrphans: false,
    });
    expect(plan.actions.filter((action) => action.subject === 'service').map((action) => `${action.kind} ${action.name}: ${action.reason}`)).toEqual([
      'start db: container is exited',
      'recreate cache: container is dead',
      'keep web: unchanged',
    ]);
  });

  it('reports orphans, and removes containers and networks only with removeOrphans (never volumes)', async () => {
    const withOld = await model(`${BASE}  old:\n    image: busybox\n    networks: [back]\nnetworks: { back: {} }\n`.replace('volumes: { dbdata: {} }\n', '') + 'volumes: { dbdata: {}, olddata: {} }\n');
    const current = await model(BASE);
    const state = observed(withOld, ['db', 'cache', 'web', 'old'].map((name) => containerFrom(withOld, name)));
    const warnOnly = planEnvironment({ model: current, observed: state, buildDigests: {}, removeOrphans: false });
    expect(warnOnly.actions.filter((action) => action.kind === 'orphan' || action.kind === 'remove').map((action) => `${action.kind} ${action.subject} ${action.name}`)).toEqual([
      'orphan service old',
      'orphan network shop_back',
      'orphan volume shop_olddata',
    ]);
    const removing = planEnvironment({ model: current, observed: state, buildDigests: {}, removeOrphans: true });
    expect(removing.actions.filter((action) => action.kind === 'orphan' || action.kind === 'remove').map((action) => `${action.kind} ${action.subject} ${action.name}`)).toEqual([
      'remove service old',
      'remove network shop_back',
      'orphan volume shop_olddata',
    ]);
  });

  it('removes stray containers of a service left by an interrupted recreate', async () => {
    const desired = await model(BASE);
    const stray = containerFrom(desired, 'web', { id: 'tmp', name: 'shop-web-envctl-tmp-1' });
    const plan = planEnvironment({ model: desired, observed: observed(desired, [containerFrom(desired, 'db'), containerFrom(desired, 'cache'), containerFrom(desired, 'web'), stray]), buildDigests: {}, removeOrphans: false });
    expect(plan.actions.filter((action) => action.subject === 'service' && action.name === 'web').map((action) => action.kind)).toEqual(['remove-stale', 'keep']);
  });

  it('builds a service whose content-addressed image is missing, and keeps it once present', async () => {
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    const desired = await model(BASE.replace('    image: shop/web:1', '    build: .'));
    const digests = { web: `sha256:${'ab'.repeat(32)}` };
    const missing = planEnvironment({ model: desired, observed: { containers: [], networks: [], volumes: [], images: new Set() }, buildDigests: digests, removeOrphans: false });
    expect(missing.actions[0]).toMatchObject({ kind: 'build', image: 'shop-web:abababababab' });
    const present = planEnvironment({ model: desired, observed: { containers: [], networks: [], volumes: [], images: new Set(['shop-web:abababababab']) }, buildDigests: digests, removeOrphans: false });
    expect(present.actions.some((action) => action.kind === 'build')).toBe(false);
  });

  it('names containers, networks and volumes per environment so environments can coexist', async () => {
    const desired = await model(`${BASE}environments:\n  ci: {}\n`, 'ci');
    const plan = planEnvironment({ model: desired, observed: { containers: [], networks: [], volumes: [], images: new Set() }, buildDigests: {}, removeOrphans: false, offline: true });
    expect(plan.actions.map((action) => ('containerName' in action ? action.containerName : action.name))).toEqual([
      'shop-ci_default',
      'shop-ci_dbdata',
      'shop-ci-db',
      'shop-ci-cache',
      'shop-ci-web',
    ]);
    expect(plan.warnings).toEqual([]);
  });
});

describe('dependencyOrder', () => {
  it('puts dependencies first and otherwise keeps definition order', async () => {
    const desired = await model(`
services:
  a: { image: x, depends_on: [c] }
  b: { image: x }
  c: { image: x, depends_on: [b] }
  d: { image: x }
`);
    expect(dependencyOrder(desired)).toEqual(['b', 'c', 'a', 'd']);
  });
});

describe('loopbackExposureWarning', () => {
  it('warns on engines before 28 when ports are published, and only then', async () => {
    const { loopbackExposureWarning } = await import('../../src/engine/up.js');
    const publishing = await model(BASE);
    const quiet = await model('services:\n  a: { image: x }\n');
    expect(loopbackExposureWarning('20.10.24+dfsg1', publishing)).toContain('older than 28');
    expect(loopbackExposureWarning('28.2.2', publishing)).toBeUndefined();
    expect(loopbackExposureWarning('20.10.24', quiet)).toBeUndefined();
  });
});

describe('profiles and orphans', () => {
  it('does not call the container of a disabled profile’s service an orphan', async () => {
    const withDebug = await model(BASE.replace('volumes: { dbdata: {} }', '  debug:\n    image: busybox\n    profiles: [debug]\nvolumes: { dbdata: {} }'));
    const debugOn = await loadDefinition({ cwd: dir, file: join(dir, 'envctl.yaml'), profiles: ['debug'], processEnv: {} });
    const state = observed(debugOn, ['db', 'cache', 'web', 'debug'].map((name) => containerFrom(debugOn, name)));
    const plan = planEnvironment({ model: withDebug, observed: state, buildDigests: {}, removeOrphans: true });
    expect(plan.actions.filter((action) => action.kind === 'orphan' || action.kind === 'remove')).toEqual([]);
  });
});

describe('network and volume configuration', () => {
  it('keeps a volume whose configuration changed, and says so (data is never dropped by a plan)', async () => {
    const { resourceConfigHash } = await import('../../src/plan/hash.js');
    const before = await model(BASE);
    const after = await model(BASE.replace('volumes: { dbdata: {} }', 'volumes: { dbdata: { driver_opts: { type: tmpfs, device: tmpfs } } }'));
    const state = observed(before, ['db', 'cache', 'web'].map((name) => containerFrom(before, name)));
    const volumes = state.volumes.map((volume) => ({ ...volume, labels: { [LABEL.configHash]: resourceConfigHash(before.volumes[volume.key!]!) } }));
    const unchanged = planEnvironment({ model: before, observed: { ...state, volumes }, buildDigests: {}, removeOrphans: false });
    expect(unchanged.actions.find((action) => action.subject === 'volume')!.reason).toBe('exists');
    const changed = planEnvironment({ model: after, observed: { ...state, volumes }, buildDigests: {}, removeOrphans: false });
    expect(changed.actions.find((action) => action.subject === 'volume')).toMatchObject({ kind: 'keep', reason: 'exists (configuration changed, kept)' });
    expect(changed.warnings).toContain('volume shop_dbdata: its configuration changed in the definition; its data is kept; `envctl down --volumes` and `up` recreate it empty');
  });
});
