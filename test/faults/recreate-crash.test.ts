/**
 * Guarantees 4 and 13, faults 23 and 28 (reliability.md): `envctl up` SIGKILLed at every step of a
 * create and a recreate (ENVCTL_FAULT, exact crash points) is repaired by the next `up`: one
 * container per service under its own name, no temporary name left, labels that the next plan
 * accepts (every service `keep`: a further `up` is a no-op), the unchanged service never touched;
 * the killed process's lock is reclaimed by the next run. `envctl down` then finds and removes
 * everything by its labels. One environment is killed at each step in turn.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, containersOf, docker, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

const RECREATE_STEPS = ['after-create-tmp', 'after-stop-old', 'after-remove-old', 'after-rename', 'after-start'] as const;

let root: string;
let cleanup: () => Promise<void>;
const projects: string[] = [];

beforeAll(async () => {
  ({ dir: root, remove: cleanup } = await tempDir('recreate'));
});
afterAll(async () => {
  for (const project of projects) await removeProject(project);
  await cleanup();
});

const definition = (project: string, value: string) => `
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

/** A project of its own in a folder of its own. */
async function environment(what: string) {
  const project = faultProject(what);
  projects.push(project);
  const dir = join(root, project);
  await mkdir(dir);
  const up = async (value: string, fault?: string) => {
    await writeFile(join(dir, 'envctl.yaml'), definition(project, value));
    return envctlIn(dir, ['up', '--wait-timeout', '60s'], fault ? { ENVCTL_FAULT: fault } : {});
  };
  /** The killed process still holds the environment's lock (nothing ran after the kill). */
  const expectDeadHolder = async () => {
    const holder = JSON.parse(await readFile(join(dir, '.state', 'locks', `${project}.holder.json`), 'utf8')) as { pid: number; command: string };
    expect(holder.command).toBe('envctl up');
    expect(() => process.kill(holder.pid, 0)).toThrow();
  };
  /** One container per service, under its own name, running, the value applied, and a plan that keeps both. */
  const expectConverged = async (value: string) => {
    const containers = await containersOf(project);
    expect(containers.map((container) => [container.name, container.service, container.state])).toEqual([
      [`${project}-a`, 'a', 'running'],
      [`${project}-b`, 'b', 'running'],
    ]);
    expect((await docker.getContainer(`${project}-b`).inspect()).Config.Env).toContain(`VALUE=${value}`);
    const plan = await envctlIn(dir, ['plan', '--json']);
    expect(plan.exitCode, String(plan.stderr)).toBe(0);
    const actions = (JSON.parse(String(plan.stdout)) as { actions: Array<{ subject: string; kind: string; name: string }> }).actions.filter((action) => action.subject === 'service');
    expect(actions.map((action) => [action.name, action.kind])).toEqual([
      ['a', 'keep'],
      ['b', 'keep'],
    ]);
  };
  const down = async () => {
    const result = await envctlIn(dir, ['down', '--volumes']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  };
  return { project, up, expectDeadHolder, expectConverged, down };
}

describe('a SIGKILLed up is repaired by the next up', () => {
  // One environment, killed at each step in turn: each recreate starts from the last repair.
  let env: Awaited<ReturnType<typeof environment>>;
  let aId: string;

  it('killed after creating a service for the first time', async () => {
    env = await environment('recreate');
    const killed = await env.up('v0', 'after-create');
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    expect(String(killed.stderr)).toContain('killed at after-create');
    // Partial state: a labelled container exists (created, never started).
    expect((await containersOf(env.project)).map((container) => container.state)).toContain('created');
    await env.expectDeadHolder();
    const repaired = await env.up('v0');
    expect(repaired.exitCode, String(repaired.stderr)).toBe(0);
    await env.expectConverged('v0');
    aId = (await docker.getContainer(`${env.project}-a`).inspect()).Id;
  });

  for (const step of RECREATE_STEPS) {
    it(`killed ${step} during a recreate`, async () => {
      const killed = await env.up(step, step);
      expect(killed.signal, `${String(killed.stdout)}\n${String(killed.stderr)}`).toBe('SIGKILL');
      expect(String(killed.stderr)).toContain(`killed at ${step}`);
      // What the crash left is labelled: found by the project label, whatever its name.
      for (const container of await containersOf(env.project)) expect(container.labels['dev.envctl.env']).toBe('default');
      await env.expectDeadHolder();

      // The next up reclaims the dead process's lock and converges.
      const repaired = await env.up(step);
      expect(repaired.exitCode, String(repaired.stderr)).toBe(0);
      expect(String(repaired.stderr)).not.toContain('locked by');
      await env.expectConverged(step);
      expect((await containersOf(env.project)).some((container) => container.name.includes('envctl-tmp'))).toBe(false);
      // Only the changed service was recreated.
      expect((await docker.getContainer(`${env.project}-a`).inspect()).Id).toBe(aId);
    });
  }

  it('down finds and removes everything by label', async () => {
    await env.down();
  });
});
