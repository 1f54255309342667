import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../src/definition/model.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import type { ObservedContainer, ObservedState } from '../../src/engine/types.js';
import { LABEL } from '../../src/labels.js';
import { classifyDrift, renderDriftText, type DriftReport } from '../../src/plan/drift.js';
import { formatFieldHashes, hashService } from '../../src/plan/hash.js';
import { containerNameFor, desiredImage, planEnvironment } from '../../src/plan/plan.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-drift-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DEFINITION = `
name: shop
services:
  db:
    image: envctl/base-postgres:15
    volumes: ["dbdata:/var/lib/postgresql/data"]
  web:
    image: shop/web:1
    environment: { LOG_LEVEL: info }
volumes: { dbdata: {} }
`;

const IMAGE_IDS = new Map([
  ['envctl/base-postgres:15', 'sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111'],
  ['shop/web:1', 'sha256:bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222'],
]);

async function model(yaml: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, processEnv: {} });
}

/** A running container as `up` created it from `source`, on the image its reference named then. */
function containerFrom(source: EnvironmentModel, service: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  const spec = source.services[service]!;
  const image = desiredImage(source, spec, {});
  const hash = hashService(spec, image, source);
  return {
    id: `id-${service}`,
    name: containerNameFor(source, service),
    service,
    state: 'running',
    health: undefined,
    image,
    imageId: IMAGE_IDS.get(image),
    created: 0,
    ports: [],
    labels: { [LABEL.project]: source.project, [LABEL.env]: source.env, [LABEL.service]: service, [LABEL.configHash]: hash.configHash, [LABEL.fieldHashes]: formatFieldHashes(hash.fields) },
    ...overrides,
  };
}

function observedWith(source: EnvironmentModel, containers: ObservedContainer[]): ObservedState {
  return {
    containers,
    networks: Object.values(source.networks).map((network) => ({ id: network.name, name: network.name, key: network.key, labels: {} })),
    volumes: Object.values(source.volumes).map((volume) => ({ name: volume.name, key: volume.key, labels: {} })),
    images: new Set(IMAGE_IDS.keys()),
  };
}

/** Plans `desired` against `observed`, then classifies, as `envctl drift` does. */
function drift(desired: EnvironmentModel, observed: ObservedState, imageIds: ReadonlyMap<string, string> = IMAGE_IDS): DriftReport {
  const plan = planEnvironment({ model: desired, observed, buildDigests: {}, removeOrphans: false });
  return classifyDrift({ plan, containers: observed.containers, imageIds });
}

describe('classifyDrift', () => {
  it('is in sync when every container runs as created from the definition', async () => {
    const desired = await model(DEFINITION);
    const report = drift(desired, observedWith(desired, [containerFrom(desired, 'db'), containerFrom(desired, 'web')]));
    expect(report).toMatchObject({ drifted: false, items: [], inSync: ['db', 'web'] });
    expect(renderDriftText(report)).toBe('drift for shop (env default)\n  in sync: db, web\nsummary: in sync with the definition\n');
  });

  it.each([
    {
      name: 'a service without a container is missing',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db')],
      expected: [{ kind: 'missing', subject: 'service', name: 'web', container: 'shop-web', detail: 'no container' }],
    },
    {
      name: 'a container stopped by hand shows its state',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db'), containerFrom(m, 'web', { state: 'exited' })],
      expected: [{ kind: 'state', subject: 'service', name: 'web', container: 'shop-web', detail: 'container is exited (stopped outside envctl)' }],
    },
    {
      name: 'a paused container shows its state',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db', { state: 'paused' }), containerFrom(m, 'web')],
      expected: [{ kind: 'state', name: 'db', detail: 'container is paused (stopped outside envctl)' }],
    },
    {
      name: 'a dead container shows its state',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db', { state: 'dead' }), containerFrom(m, 'web')],
      expected: [{ kind: 'state', name: 'db', detail: 'container is dead' }],
    },
    {
      name: 'a second container of a service is stray',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db'), containerFrom(m, 'web'), containerFrom(m, 'web', { id: 'id-tmp', name: 'shop-web-tmp' })],
      expected: [{ kind: 'stray', name: 'web', container: 'shop-web-tmp' }],
    },
    {
      name: 'a container of a service no longer defined is an orphan',
      containers: (m: EnvironmentModel) => [containerFrom(m, 'db'), containerFrom(m, 'web'), containerFrom(m, 'web', { id: 'id-old', name: 'shop-old', service: 'old' })],
      expected: [{ kind: 'orphan', subject: 'service', name: 'old', container: 'shop-old', detail: 'container shop-old is not in the definition' }],
    },
    {
      name: 'release containers (slot label) are the release controller’s, not drift',
      containers: (m: EnvironmentModel) => [
        containerFrom(m, 'db'),
        containerFrom(m, 'web'),
        containerFrom(m, 'web', { id: 'id-canary', name: 'shop-web-canary', labels: { ...containerFrom(m, 'web').labels, [LABEL.slot]: 'canary' } }),
      ],
      expected: [],
    },
  ])('$name', async ({ containers, expected }) => {
    const desired = await model(DEFINITION);
    const report = drift(desired, observedWith(desired, containers(desired)));
    expect(report.drifted).toBe(expected.length > 0);
    expect(report.items).toEqual(expected.map((item) => expect.objectContaining(item)));
  });

  it('names the fields whose definition changed since the container was created', async () => {
    const before = await model(DEFINITION);
    const containers = [containerFrom(before, 'db'), containerFrom(before, 'web')];
    const after = await model(DEFINITION.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug').replace('image: shop/web:1', 'image: shop/web:1\n    user: node'));
    const report = drift(after, observedWith(after, containers));
    expect(report.items).toEqual([
      { kind: 'changed', subject: 'service', name: 'web', container: 'shop-web', fields: ['environment', 'user'], detail: 'definition changed since the container was created: environment, user' },
    ]);
    expect(report.inSync).toEqual(['db']);
  });

  it('finds a container whose image reference now names another image, or none', async () => {
    const desired = await model(DEFINITION);
    const observed = observedWith(desired, [containerFrom(desired, 'db'), containerFrom(desired, 'web')]);
    const retagged = new Map(IMAGE_IDS).set('shop/web:1', 'sha256:cccccccccccc3333333333333333333333333333333333333333333333333333');
    const gone = new Map(IMAGE_IDS);
    gone.delete('envctl/base-postgres:15');
    const report = drift(desired, observed, retagged);
    expect(report.items).toEqual([
      {
        kind: 'image',
        subject: 'service',
        name: 'web',
        container: 'shop-web',
        image: { ref: 'shop/web:1', running: IMAGE_IDS.get('shop/web:1'), current: retagged.get('shop/web:1') },
        detail: 'runs sha256:bbbbbbbbbbbb; shop/web:1 is now sha256:cccccccccccc (rebuilt or retagged)',
      },
    ]);
    expect(renderDriftText(report)).toBe(
      [
        'drift for shop (env default)',
        '  image    web  runs sha256:bbbbbbbbbbbb; shop/web:1 is now sha256:cccccccccccc (rebuilt or retagged)',
        '  in sync: db',
        'summary: 1 drifted, 1 in sync',
        '',
      ].join('\n'),
    );
    expect(drift(desired, observed, gone).items).toEqual([expect.objectContaining({ kind: 'image', name: 'db', detail: 'runs sha256:aaaaaaaaaaaa; envctl/base-postgres:15 no longer exists in the engine' })]);
  });

  it('does not report image drift when the reference itself changed (that is a changed field)', async () => {
    const before = await model(DEFINITION);
    const after = await model(DEFINITION.replace('image: shop/web:1', 'image: shop/web:2'));
    const report = drift(after, observedWith(after, [containerFrom(before, 'db'), containerFrom(before, 'web')]), new Map(IMAGE_IDS).set('shop/web:2', 'sha256:dddddddddddd'));
    expect(report.items.map((item) => [item.kind, item.name, item.fields])).toEqual([['changed', 'web', ['image']]]);
  });

  it('reports missing networks and volumes, and renders everything grouped like the plan', async () => {
    const desired = await model(DEFINITION);
    const observed: ObservedState = { ...observedWith(desired, [containerFrom(desired, 'db', { state: 'exited' })]), networks: [], volumes: [] };
    expect(renderDriftText(drift(desired, observed))).toBe(
      [
        'drift for shop (env default)',
        '  missing  network shop_default  no network',
        '  missing  volume shop_dbdata    no volume',
        '  state    db                    container is exited (stopped outside envctl)',
        '  missing  web                   no container',
        'summary: 4 drifted, 0 in sync',
        '',
      ].join('\n'),
    );
  });
});
