/**
 * `envctl feature` through the built CLI against the real engine: enabling a toggle recreates only
 * the service that declares it (the others keep their containers), the service answers with the
 * new value over HTTP, the change is recorded, a later `up` keeps it, an unknown name exits 2.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, containerIdentities, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-feature-'));
  project = uniqueProject('feature');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

/** Answers every request with its FEATURE_* variables as JSON. */
const SERVER = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FEATURE_'))))) }).listen(3000)`;

const definition = () => `
name: ${project}
services:
  app:
    image: envctl/base-node:24
    command: ${JSON.stringify(['node', '-e', SERVER])}
    ports: ["127.0.0.1::3000"]
    features: [beta-search]
  other:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
features: { beta-search: false, unused: true }
environments:
  staging: { features: { beta-search: true } }
`;

async function appFeatures(): Promise<Record<string, string>> {
  const [info] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=app`] } });
  const port = info!.Ports.find((candidate) => candidate.PrivatePort === 3000)!.PublicPort;
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return (await response.json()) as Record<string, string>;
}

describe('envctl feature', () => {
  it('enable recreates only the declaring service, the response shows the toggle, and a later up keeps it', async () => {
    await writeFile(join(dir, 'envctl.yaml'), definition());
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);
    expect(await appFeatures()).toEqual({ FEATURE_BETA_SEARCH: 'false' });
    const before = await containerIdentities(project);

    const enabled = await envctl(['feature', 'enable', 'beta-search'], { cwd: dir });
    expect(enabled.exitCode).toBe(0);
    expect(enabled.stdout).toBe(`beta-search enabled (was disabled) in ${project} (env default); recreated: app`);
    const after = await containerIdentities(project);
    expect(after.get('other')).toEqual(before.get('other'));
    expect(after.get('app')!.id).not.toBe(before.get('app')!.id);
    expect(await appFeatures()).toEqual({ FEATURE_BETA_SEARCH: 'true' });

    // Recorded: who, when, old → new, what was recreated.
    const history = (await readFile(join(dir, '.envctl', 'feature-history.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(history).toEqual([expect.objectContaining({ project, env: 'default', feature: 'beta-search', from: false, to: true, recreated: ['app'], by: expect.stringMatching(/.+@.+/) })]);

    // Listed per environment; the overlay has its own value; the override applies to default only.
    const list = await envctl(['feature', 'list', '--json'], { cwd: dir });
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(String(list.stdout)).features).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ env: 'default', feature: 'beta-search', definition: false, override: true, effective: true, services: ['app'] }),
        expect.objectContaining({ env: 'staging', feature: 'beta-search', definition: true, override: null, effective: true }),
        expect.objectContaining({ env: 'default', feature: 'unused', services: [] }),
      ]),
    );

    // A later up keeps the toggle: nothing to do.
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);
    expect(await containerIdentities(project)).toEqual(after);
    expect(await appFeatures()).toEqual({ FEATURE_BETA_SEARCH: 'true' });

    // Again: nothing changes.
    const again = await envctl(['feature', 'enable', 'beta-search', '--json'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(String(again.stdout))).toMatchObject({ changed: false, recreated: [], running: true });

    // Unknown toggle: bad input, with a did-you-mean, nothing touched.
    const typo = await envctl(['feature', 'disable', 'beta-serch'], { cwd: dir });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('the definition has no feature "beta-serch"');
    expect(typo.stderr).toContain('did you mean beta-search?');

    // Back to the definition's value: the override is dropped.
    const disabled = await envctl(['feature', 'disable', 'beta-search'], { cwd: dir });
    expect(disabled.exitCode).toBe(0);
    expect(await appFeatures()).toEqual({ FEATURE_BETA_SEARCH: 'false' });
    expect((await containerIdentities(project)).get('other')).toEqual(before.get('other'));
    expect(JSON.parse(await readFile(join(dir, '.envctl', 'features.json'), 'utf8'))).toEqual({ version: 1, environments: {} });
  });
});
