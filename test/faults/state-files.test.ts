/**
 * Guarantee 33, faults 26-27 (reliability.md): state files are written whole or not at all. A
 * SIGKILL between the temporary file and the rename leaves the previous record as it was; a
 * truncated record is reported, never acted on; a full disk (a 64 KiB tmpfs as the project's
 * .envctl folder) fails the write with the path named and leaves the previous record intact.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envctlIn, faultProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
let mounted: string | undefined;

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('state'));
});
afterAll(async () => {
  if (mounted) execFileSync('umount', [mounted]);
  await cleanup();
});

/** A definition whose pipeline is one host command (no engine needed): three record writes per run. */
async function project(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, 'envctl.yaml'),
    `name: ${faultProject('state')}\nservices:\n  a: { image: envctl/base-debian:12, command: ["sleep", "infinity"] }\npipeline:\n  build:\n    run: ["true"]\n`,
  );
}

const runsOf = async (folder: string) => (await readdir(join(folder, '.envctl', 'runs')).catch(() => [] as string[])).sort();
const recordOf = async (folder: string, id: string) => JSON.parse(await readFile(join(folder, '.envctl', 'runs', id, 'record.json'), 'utf8')) as { id: string; status: string; stages: Array<{ name: string; status: string }> };

describe('run records', () => {
  it('killed between the temporary file and the rename: the previous record stays whole and readable', async () => {
    const folder = join(dir, 'killed');
    await project(folder);
    const killed = await envctlIn(folder, ['pipeline'], { ENVCTL_FAULT: 'after-temp-write@2' });
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    const [id] = await runsOf(folder);
    // The first write (all stages pending) is what is there; the new content only in the writer's
    // temporary file (the kill is inside write-file-atomic, before its rename: a writer that writes
    // the record in place never gets there, and this test fails on the signal or the record).
    expect(await recordOf(folder, id!)).toMatchObject({ id, status: 'running', stages: [{ name: 'build', status: 'pending' }] });
    const runDir = join(folder, '.envctl', 'runs', id!);
    const leftovers = (await readdir(runDir)).filter((name) => name.startsWith('record.json.'));
    expect(leftovers).toHaveLength(1);
    const temporary = JSON.parse(await readFile(join(runDir, leftovers[0]!), 'utf8')) as { stages: Array<{ status: string }> };
    expect(temporary.stages[0]!.status).toBe('passed');
    const shown = await envctlIn(folder, ['runs', 'show', id!]);
    expect(shown.exitCode, String(shown.stderr)).toBe(0);
    // The next run is not disturbed by the leftovers.
    const next = await envctlIn(folder, ['pipeline']);
    expect(next.exitCode, String(next.stderr)).toBe(0);
  });

  it('a truncated record is reported with its path and left as it is', async () => {
    const folder = join(dir, 'truncated');
    await project(folder);
    expect((await envctlIn(folder, ['pipeline'])).exitCode).toBe(0);
    const [id] = await runsOf(folder);
    const path = join(folder, '.envctl', 'runs', id!, 'record.json');
    const whole = await readFile(path, 'utf8');
    await writeFile(path, whole.slice(0, Math.floor(whole.length / 2)));
    const listed = await envctlIn(folder, ['runs']);
    expect(listed.exitCode).toBe(0);
    expect(String(listed.stdout)).toContain(`${id}  unreadable: not valid JSON`);
    const shown = await envctlIn(folder, ['runs', 'show', id!]);
    expect(shown.exitCode).toBe(1);
    expect(String(shown.stderr)).toContain(path);
    expect(String(shown.stderr)).toContain('nothing was changed');
    expect(await readFile(path, 'utf8')).toBe(whole.slice(0, Math.floor(whole.length / 2)));
    // A new run is not misled by it (its figures are never read as a baseline).
    expect((await envctlIn(folder, ['pipeline'])).exitCode).toBe(0);
  });

  const root = process.getuid?.() === 0;
  it.skipIf(!root && !process.env.CI)('disk full (a 64 KiB tmpfs, mounted as root; skipped without root outside CI): the write fails naming the path, the previous record intact', async () => {
    const folder = join(dir, 'full');
    await project(folder);
    const state = join(folder, '.envctl');
    await mkdir(state, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', state]);
    mounted = state;
    // Leave exactly one free page: the run's first record fits, the next version (written beside
    // it before the rename) does not.
    const stats = await statfs(state);
    await writeFile(join(state, 'filler'), Buffer.alloc((stats.bavail - 1) * stats.bsize));
    expect((await statfs(state)).bavail).toBe(1);
    const run = await envctlIn(folder, ['pipeline']);
    expect(run.exitCode, String(run.stderr)).toBe(1);
    const [id] = await runsOf(folder);
    const path = join(state, 'runs', id!, 'record.json');
    expect(String(run.stderr)).toContain(`cannot write the run record ${path}: ENOSPC`);
    expect(await recordOf(folder, id!)).toMatchObject({ id, status: 'running', stages: [{ name: 'build', status: 'pending' }] });
    // No temporary file is left behind either.
    expect(await readdir(join(state, 'runs', id!))).toEqual(['record.json']);
  });
});
