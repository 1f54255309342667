/**
 * Fault 29 and guarantee 12 (reliability.md): a container envctl did not make — same name, or the
 * same project under another environment — is never adopted, stopped or removed; the engine's
 * restart policy is applied as declared (on-failure:2 restarts twice, `no` never).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, docker, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('foreign');
const foreign: string[] = [];

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('foreign'));
});
afterAll(async () => {
  for (const id of foreign) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  await removeProject(project);
  await cleanup();
});

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('objects envctl does not own', () => {
  it('a foreign container with the service’s name, and one of another environment, are never touched', async () => {
    await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n`);
    const sameName = await docker.createContainer({ name: `${project}-a`, Image: BASE_IMAGE, Cmd: ['sleep', 'infinity'], Labels: { 'test.owner': 'someone-else' } });
    foreign.push(sameName.id);
    await sameName.start();
    // Same project label, another environment: belongs to that environment, not to this one.
    const otherEnv = await docker.createContainer({ name: `${project}-other-a`, Image: BASE_IMAGE, Cmd: ['sleep', 'infinity'], Labels: { [LABEL.project]: project, [LABEL.env]: 'other', [LABEL.service]: 'a' } });
    foreign.push(otherEnv.id);
    await otherEnv.start();

    const up = await envctlIn(dir, ['up', '--wait-timeout', '30s']);
    expect(up.exitCode, String(up.stderr)).not.toBe(0);
    expect(String(up.stderr)).toContain(`${project}-a`);
    expect(String(up.stderr)).toMatch(/already in use/);
    const down = await envctlIn(dir, ['down', '--volumes']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    for (const id of [sameName.id, otherEnv.id]) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    // Never adopted: it did not get envctl's labels.
    const labels = (await docker.getContainer(sameName.id).inspect()).Config.Labels;
    expect(labels['test.owner']).toBe('someone-else');
    expect([labels[LABEL.project], labels[LABEL.env], labels[LABEL.service]]).toEqual([undefined, undefined, undefined]);
    for (const id of foreign.splice(0)) await docker.getContainer(id).remove({ force: true });
  });

  it('applies the restart policy as declared: on-failure:2 restarts twice, no never', async () => {
    await writeFile(
      join(dir, 'envctl.yaml'),
      `name: ${project}\nservices:\n  twice: { image: ${BASE_IMAGE}, command: ["sh", "-c", "exit 1"], restart: "on-failure:2" }\n  never: { image: ${BASE_IMAGE}, command: ["sh", "-c", "exit 1"], restart: "no" }\n`,
    );
    const up = await envctlIn(dir, ['up', '--wait-timeout', '30s']);
    expect(up.exitCode).toBe(1);
    const twice = await eventually(
      () => docker.getContainer(`${project}-twice`).inspect(),
      (info) => info.RestartCount === 2 && info.State.Status === 'exited',
      'two restarts, then exited',
    );
    expect(twice.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    const never = await docker.getContainer(`${project}-never`).inspect();
    expect([never.RestartCount, never.State.Status, never.State.ExitCode]).toEqual([0, 'exited', 1]);
    expect((await envctlIn(dir, ['down', '--volumes'])).exitCode).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
