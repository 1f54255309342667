/**
 * Feature toggles: declared per service, overlays per environment, runtime overrides merged on
 * top (and written/parsed safely), the plan narrowed to the services that declare a toggle.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFeatureOverrides, featureVariable, withFeatureVariables } from '../../../src/definition/features.js';
import type { EnvironmentModel } from '../../../src/definition/model.js';
import { loadDefinition } from '../../../src/definition/resolve.js';
import type { ObservedContainer } from '../../../src/engine/types.js';
import { checkFeatureName, listFeatures, renderFeatureListText } from '../../../src/features/toggle.js';
import { LABEL } from '../../../src/labels.js';
import { formatFieldHashes } from '../../../src/plan/hash.js';
import { planEnvironment, type ServiceActionBase } from '../../../src/plan/plan.js';
import { restrictPlan } from '../../../src/plan/restrict.js';
import { appendFeatureHistory, parseFeatureOverrides, readFeatureOverrides, setOverride, writeFeatureOverrides } from '../../../src/state/feature-overrides.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-features-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SHOP = `
name: shop
services:
  web: { image: web, features: [new-checkout, dark-mode], environment: { FEATURE_DARK_MODE: forced } }
  api: { image: api, features: [new-checkout], depends_on: [db] }
  db: { image: db }
features: { new-checkout: false, dark-mode: false }
environments:
  staging: { features: { new-checkout: true } }
  local: {}
`;

async function load(yaml: string, options: { env?: string; featureOverrides?: boolean } = {}): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, env: options.env, processEnv: {}, featureOverrides: options.featureOverrides });
}

describe('feature toggles in the definition', () => {
  it('reach only the services that declare them; an explicit variable wins', async () => {
    const model = await load(SHOP);
    expect(model.services.web!.environment).toEqual({ FEATURE_NEW_CHECKOUT: 'false', FEATURE_DARK_MODE: 'forced' });
    expect(model.services.api!.environment).toEqual({ FEATURE_NEW_CHECKOUT: 'false' });
    expect(model.services.db!.environment).toEqual({});
    expect(model.services.web!.features).toEqual(['new-checkout', 'dark-mode']);
  });

  it('differ per environment overlay', async () => {
    expect((await load(SHOP, { env: 'staging' })).services.api!.environment.FEATURE_NEW_CHECKOUT).toBe('true');
    expect((await load(SHOP, { env: 'local' })).services.api!.environment.FEATURE_NEW_CHECKOUT).toBe('false');
  });

  it('rejects a service that uses an undeclared toggle, with a did-you-mean and its location', async () => {
    const error = await load(`
services:
  web: { image: web, features: [new-chekout] }
features: { new-checkout: false }
`).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ exitCode: 2, diagnostics: [expect.objectContaining({ code: 'UNKNOWN_FEATURE', line: 3, path: expect.stringContaining('features'), hint: 'did you mean `new-checkout`?' })] });
  });

  it('names toggles as FEATURE_ variables', () => {
    expect(featureVariable('new-checkout')).toBe('FEATURE_NEW_CHECKOUT');
    expect(featureVariable('v2.beta')).toBe('FEATURE_V2_BETA');
  });

  it('sets no variable for a declared name without a value, and leaves services without declarations alone', () => {
    const service = { name: 'x', features: ['a', 'b'], environment: {} } as unknown as Parameters<typeof withFeatureVariables>[0];
    expect(withFeatureVariables(service, { a: true }).environment).toEqual({ FEATURE_A: 'true' });
    const none = { ...service, features: [] };
    expect(withFeatureVariables(none, { a: true })).toBe(none);
  });
});

describe('runtime overrides', () => {
  it('merge over the definition; an override of a toggle no longer declared is ignored and reported', () => {
    expect(applyFeatureOverrides({ a: false, b: true }, { a: true, gone: true })).toEqual({ features: { a: true, b: true }, applied: { a: true }, stale: ['gone'] });
    expect(applyFeatureOverrides({ a: false }, {})).toEqual({ features: { a: false }, applied: {}, stale: [] });
  });

  it('are dropped when set back to the definition value, per environment', () => {
    const file = setOverride({ version: 1, environments: {} }, 'shop/default', 'a', true, false);
    expect(file.environments).toEqual({ 'shop/default': { a: true } });
    const other = setOverride(file, 'shop/staging', 'a', false, true);
    expect(other.environments).toEqual({ 'shop/default': { a: true }, 'shop/staging': { a: false } });
    expect(setOverride(other, 'shop/default', 'a', false, false).environments).toEqual({ 'shop/staging': { a: false } });
  });

  it('apply when an environment loads (so a later up keeps them), only to that environment, and not when asked not to', async () => {
    await writeFeatureOverrides(dir, { version: 1, environments: { 'shop/default': { 'new-checkout': true } } });
    const model = await load(SHOP);
    expect(model.features).toEqual({ 'new-checkout': true, 'dark-mode': false });
    expect(model.featureOverrides).toEqual({ 'new-checkout': true });
    expect(model.services.api!.environment.FEATURE_NEW_CHECKOUT).toBe('true');
    expect((await load(SHOP, { env: 'local' })).services.api!.environment.FEATURE_NEW_CHECKOUT).toBe('false');
    expect((await load(SHOP, { featureOverrides: false })).services.api!.environment.FEATURE_NEW_CHECKOUT).toBe('false');
  });

  it('round-trip through the file in a stable order, and a file that does not parse is named', async () => {
    await writeFeatureOverrides(dir, { version: 1, environments: { 'b/x': { z: true, a: false }, 'a/x': { m: true } } });
    expect(JSON.stringify(await readFeatureOverrides(dir))).toBe('{"version":1,"environments":{"a/x":{"m":true},"b/x":{"a":false,"z":true}}}');
    expect(() => parseFeatureOverrides('{"version":1,"environments":{"shop/default":{"a":"yes"}}}', '/p/features.json')).toThrow(/features\.json is not valid: environments\.shop\/default\.a/);
    expect(() => parseFeatureOverrides('{"version":1', '/p/features.json')).toThrow(/not JSON/);
    // No prototype pollution from a hand-edited file.
    parseFeatureOverrides('{"version":1,"environments":{"__proto__":{"a":true},"shop/x":{"__proto__":true}}}', '/p/f.json');
    expect(({} as Record<string, unknown>).a).toBeUndefined();
    await mkdir(join(dir, '.envctl'), { recursive: true });
    await writeFile(join(dir, '.envctl', 'features.json'), 'garbage');
    await expect(load(SHOP)).rejects.toMatchObject({ code: 'STATE_CORRUPT', exitCode: 1 });
  });
});

describe('envctl feature list and names', () => {
  it('shows definition, override and effective value per environment, with the declaring services and the last change', async () => {
    await load(SHOP);
    await writeFeatureOverrides(dir, { version: 1, environments: { 'shop/default': { 'new-checkout': true }, 'shop/local': { gone: true } } });
    await appendFeatureHistory(dir, { at: '2026-01-02T03:04:05.000Z', project: 'shop', env: 'default', feature: 'new-checkout', from: false, to: true, by: 'ann@laptop', recreated: ['web', 'api'] });
    const result = await listFeatures({ cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} });
    expect(renderFeatureListText(result)).toBe(
      [
        'features of shop',
        '  ENV      FEATURE       DEFINITION  OVERRIDE  EFFECTIVE  SERVICES',
        '  default  dark-mode     false       -         false      web',
        '  default  new-checkout  false       true      true       web,api',
        '  staging  dark-mode     false       -         false      web',
        '  staging  new-checkout  true        -         true       web,api',
        '  local    dark-mode     false       -         false      web',
        '  local    new-checkout  false       -         false      web,api',
        '  ignored override local/gone: the definition no longer declares it',
        '',
      ].join('\n'),
    );
    expect(result.features[1]!.lastChange).toEqual({ at: '2026-01-02T03:04:05.000Z', by: 'ann@laptop', from: false, to: true });
  });

  it('refuses an unknown toggle with a did-you-mean (exit 2)', () => {
    expect(() => checkFeatureName({ env: 'default', features: { 'new-checkout': false } }, 'new-chekout')).toThrow(expect.objectContaining({ code: 'UNKNOWN_FEATURE', exitCode: 2, hint: 'did you mean new-checkout?' }));
    expect(() => checkFeatureName({ env: 'default', features: {} }, 'x')).toThrow(expect.objectContaining({ hint: 'declare it under `features:` (name: true|false)' }));
  });
});

describe('the plan narrowed to the services of a toggle', () => {
  /** Containers as `up` created them from `model` (labels carry its hashes). */
  function runningFrom(model: EnvironmentModel): ObservedContainer[] {
    const plan = planEnvironment({ model, observed: { containers: [], networks: [], volumes: [], images: new Set(['web', 'api', 'db']) }, buildDigests: {}, removeOrphans: false });
    return plan.actions.flatMap((action) => {
      if (action.subject !== 'service' || action.kind !== 'create') return [];
      const base = action as ServiceActionBase;
      return [{ id: `id-${action.name}`, name: base.containerName, service: action.name, state: 'running' as const, health: undefined, image: base.image, labels: { [LABEL.project]: 'shop', [LABEL.env]: 'default', [LABEL.service]: action.name, [LABEL.configHash]: base.hash.configHash, [LABEL.fieldHashes]: formatFieldHashes(base.hash.fields) }, created: 0, ports: [] }];
    });
  }

  it('recreates only the declaring services; other changes are held back and not waited for', async () => {
    const before = await load(SHOP);
    const containers = runningFrom(before);
    // The toggle changes (web and api declare it), and db changed by hand in the definition too.
    await writeFeatureOverrides(dir, { version: 1, environments: { 'shop/default': { 'new-checkout': true } } });
    const after = await load(SHOP.replace('db: { image: db }', 'db: { image: db, environment: { X: "1" } }'));
    const full = planEnvironment({ model: after, observed: { containers, networks: [], volumes: [], images: new Set(['web', 'api', 'db']) }, buildDigests: {}, removeOrphans: false });
    expect(full.actions.filter((action) => action.kind === 'recreate').map((action) => action.name).sort()).toEqual(['api', 'db', 'web']);

    const { plan, heldBack } = restrictPlan(full, new Set(['web', 'api']));
    const services = plan.actions.filter((action) => action.subject === 'service');
    expect(services.map((action) => `${action.kind} ${action.name}`).sort()).toEqual(['recreate api', 'recreate web']);
    // api depends on db, which is left as it runs: api does not wait for it.
    expect(services.find((action) => action.name === 'api')).toMatchObject({ after: [], reason: 'changed: environment' });
    expect(heldBack).toEqual(['db']);
    expect(plan.actions.some((action) => action.subject === 'network' && action.kind === 'create')).toBe(true);
  });
});
