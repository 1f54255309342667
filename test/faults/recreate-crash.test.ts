/**
 * Guarantees 4 and 13, faults 23 and 28 (reliability.md): `envctl up` SIGKILLed at every step of a
 * create and a recreate (ENVCTL_FAULT, exact crash points) is repaired by the next `up`: one
 * container per service under its own name, no temporary name left, labels that the next plan
 * accepts (every service `keep`), the unchanged service never touched; the killed process's lock is
 * reclaimed by the next run. `envctl down` then finds and removes everything by its labels.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, containersOf, docker, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

const RECREATE_STEPS = ['after-create-tmp', 'after-stop-old', 'after-remove-old', 'after-rename', 'after-start'] as const;

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('recreate');

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('recreate'));
});
afterAll(async () => {
  await removeProject(project);
  await cleanup();
});

const definition = (value: string) => `
name: ${project}
services:
  a:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
  b:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    environment: { VALUE: "${value}" }
    depends_on: [a]
`;

async function up(value: string, fault?: string) {
  await writeFile(join(dir, 'envctl.yaml'), definition(value));
  return envctlIn(dir, ['up', '--wait-timeout', '60s'], fault ? { ENVCTL_FAULT: fault } : {});
}

/** One container per service, under its own name, running, and a plan that keeps both. */
async function expectConverged(value: string): Promise<void> {
  const containers = await containersOf(project);
  expect(containers.map((container) => [container.name, container.service, container.state])).toEqual([
    [`${project}-a`, 'a', 'running'],
    [`${project}-b`, 'b', 'running'],
  ]);
  const env = (await docker.getContainer(`${project}-b`).inspect()).Config.Env;
  expect(env).toContain(`VALUE=${value}`);
  const plan = await envctlIn(dir, ['plan', '--json']);
  expect(plan.exitCode, String(plan.stderr)).toBe(0);
  const actions = (JSON.parse(String(plan.stdout)) as { actions: Array<{ subject: string; kind: string; name: string }> }).actions.filter((action) => action.subject === 'service');
  expect(actions.map((action) => [action.name, action.kind])).toEqual([
    ['a', 'keep'],
    ['b', 'keep'],
  ]);
}

describe('a SIGKILLed up is repaired by the next up', () => {
  let aId: string;

  it('killed after creating a service for the first time', async () => {
    const killed = await up('v0', 'after-create');
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    expect(String(killed.stderr)).toContain('killed at after-create');
    // Partial state: a labelled container exists (created, never started).
    expect((await containersOf(project)).length).toBeGreaterThan(0);
    const repaired = await up('v0');
    expect(repaired.exitCode, String(repaired.stderr)).toBe(0);
    await expectConverged('v0');
    aId = (await docker.getContainer(`${project}-a`).inspect()).Id;
  });

  for (const step of RECREATE_STEPS) {
    it(`killed ${step} during a recreate`, async () => {
      const killed = await up(step, step);
      expect(killed.signal, `${String(killed.stdout)}\n${String(killed.stderr)}`).toBe('SIGKILL');
      expect(String(killed.stderr)).toContain(`killed at ${step}`);
      // What the crash left is labelled: found by the project label, whatever its name.
      for (const container of await containersOf(project)) expect(container.labels['dev.envctl.env']).toBe('default');
      // The next up takes the dead process's lock and converges.
      const repaired = await up(step);
      expect(repaired.exitCode, String(repaired.stderr)).toBe(0);
      expect(String(repaired.stderr)).not.toContain('locked by');
      await expectConverged(step);
      expect((await containersOf(project)).some((container) => container.name.includes('envctl-tmp'))).toBe(false);
      // Only the changed service was recreated.
      expect((await docker.getContainer(`${project}-a`).inspect()).Id).toBe(aId);
    });
  }

  it('an unchanged up afterwards is a no-op, and down removes everything by label', async () => {
    const before = (await docker.getContainer(`${project}-b`).inspect()).Id;
    const again = await up('after-start');
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((await docker.getContainer(`${project}-b`).inspect()).Id).toBe(before);
    const down = await envctlIn(dir, ['down', '--volumes']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
