/**
 * Guarantee 5 (reliability.md): data in a named volume is never removed or recreated without an
 * explicit request. A definition change that would need a new volume (driver options) makes `up`
 * fail with the reason before anything changes; the data written into the volume is still there,
 * also after `down` without `--volumes`; only `down --volumes` deletes it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, docker, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('volume');
const sentinel = randomBytes(8).toString('hex');

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('volume'));
});
afterAll(async () => {
  await removeProject(project);
  await cleanup();
});

const definition = (volume: string, value = 'one') => `
name: ${project}
services:
  db:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    environment: { VALUE: ${value} }
    volumes: ["data:/data"]
volumes:
  data: ${volume}
`;

async function up(yaml: string) {
  await writeFile(join(dir, 'envctl.yaml'), yaml);
  return envctlIn(dir, ['up', '--wait-timeout', '60s']);
}

async function readSentinel(): Promise<string> {
  const read = await envctlIn(dir, ['exec', 'db', '--', 'cat', '/data/sentinel']);
  expect(read.exitCode, String(read.stderr)).toBe(0);
  return String(read.stdout).trim();
}

describe('named volume data', () => {
  it('survives a recreate of its service, a changed driver option (refused, exit 1, named) and down without --volumes; down --volumes deletes it', async () => {
    expect((await up(definition('{}'))).exitCode).toBe(0);
    const write = await envctlIn(dir, ['exec', 'db', '--', 'sh', '-c', `echo ${sentinel} > /data/sentinel`]);
    expect(write.exitCode, String(write.stderr)).toBe(0);
    const volumeName = `${project}_data`;
    const createdAt = async () => ((await docker.getVolume(volumeName).inspect()) as unknown as { CreatedAt: string }).CreatedAt;
    const created = await createdAt();

    // The service changes: its container is recreated, the volume and its data stay.
    expect((await up(definition('{}', 'two'))).exitCode).toBe(0);
    expect(await readSentinel()).toBe(sentinel);

    // The volume's driver options change: that would need a new (empty) volume. Refused.
    const changed = await up(definition('{ driver_opts: { type: tmpfs, device: tmpfs } }', 'three'));
    expect(changed.exitCode, String(changed.stderr)).toBe(1);
    expect(String(changed.stderr)).toContain(`volume ${volumeName} changed`);
    expect(String(changed.stderr)).toContain('down --volumes');
    // Nothing changed: same volume, the service not recreated with the new value, the data there.
    expect(await createdAt()).toBe(created);
    expect((await docker.getContainer(`${project}-db`).inspect()).Config.Env).toContain('VALUE=two');
    expect(await readSentinel()).toBe(sentinel);

    // down without --volumes keeps it; only the explicit request deletes it.
    expect((await envctlIn(dir, ['down'])).exitCode).toBe(0);
    expect(await labelledOf(project)).toEqual([`volume ${volumeName}`]);
    expect((await envctlIn(dir, ['down', '--volumes'])).exitCode).toBe(0);
    expect(await labelledOf(project)).toEqual([]);
  });
});
