import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, validateAllEnvironments } from '../../src/definition/resolve.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-include-'));
  await mkdir(join(dir, 'app', 'web'), { recursive: true });
  await writeFile(join(dir, 'app', 'web', 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(dir, 'app', '.env'), 'WEB_PORT=8081\n');
  await writeFile(
    join(dir, 'app', 'envctl.yaml'),
    `name: shop
services:
  web: { build: ./web, ports: ["\${WEB_PORT}:3000"], healthcheck: { test: ["CMD", "true"] } }
  db: { image: db, volumes: ["data:/data"] }
volumes: { data: {} }
environments:
  ci: { services: { web: { environment: { CI: "1" } } } }
`,
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function root(yaml: string) {
  await writeFile(join(dir, 'envctl.yaml'), yaml);
  return { cwd: dir, processEnv: {} };
}

describe('include', () => {
  it('loads an included definition relative to its own folder and .env, named after it', async () => {
    const model = await loadDefinition(await root('include: [app/envctl.yaml]\n'));
    expect(model.project).toBe('shop');
    expect(Object.keys(model.services).sort()).toEqual(['db', 'web']);
    expect(model.services.web!.build!.context).toBe(join(dir, 'app', 'web'));
    expect(model.services.web!.ports[0]!.published).toBe(8081);
    expect(model.volumes.data!.name).toBe('shop_data');
  });

  it('applies an environment declared only in the included file', async () => {
    const model = await loadDefinition({ ...(await root('include: [app/envctl.yaml]\n')), env: 'ci' });
    expect(model.prefix).toBe('shop-ci');
    expect(model.services.web!.environment).toMatchObject({ CI: '1' });
    expect(model.volumes.data!.name).toBe('shop-ci_data');
    const all = await validateAllEnvironments(await root('include: [app/envctl.yaml]\n'));
    expect(all.map((each) => each.env)).toEqual(['default', 'ci']);
  });

  it('lets the including file add services that depend on included ones, under its own name', async () => {
    const model = await loadDefinition(await root('name: outer\ninclude: [app/envctl.yaml]\nservices:\n  tests: { image: t, depends_on: { web: { condition: service_healthy } } }\n'));
    expect(model.project).toBe('outer');
    expect(Object.keys(model.services).sort()).toEqual(['db', 'tests', 'web']);
    expect(model.volumes.data!.name).toBe('outer_data');
  });

  it('reports an error inside the included file at its own file:line:col', async () => {
    await writeFile(join(dir, 'app', 'envctl.yaml'), 'services:\n  web: { image: web, healtcheck: {} }\n');
    await expect(loadDefinition(await root('include: [app/envctl.yaml]\n'))).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ file: join('app', 'envctl.yaml'), line: 2, col: 22, code: 'UNKNOWN_KEY' })],
    });
  });

  const failures: Array<[string, string, string]> = [
    ['a missing file', 'include: [nope.yaml]\n', 'INCLUDE_NOT_FOUND'],
    ['a service defined twice', 'include: [app/envctl.yaml]\nservices:\n  db: { image: other }\n', 'DUPLICATE_SERVICE'],
    ['a cycle', 'include: [envctl.yaml]\n', 'INCLUDE_CYCLE'],
    ['a dependency on a missing service', 'include: [app/envctl.yaml]\nservices:\n  t: { image: t, depends_on: [cache] }\n', 'UNKNOWN_DEPENDENCY'],
    ['service_healthy on an included service without a healthcheck', 'include: [app/envctl.yaml]\nservices:\n  t: { image: t, depends_on: { db: { condition: service_healthy } } }\n', 'NO_HEALTHCHECK'],
  ];
  it.each(failures)('refuses %s', async (_what, yaml, code) => {
    await expect(loadDefinition(await root(yaml))).rejects.toMatchObject({ exitCode: 2, diagnostics: [expect.objectContaining({ code })] });
  });
});
