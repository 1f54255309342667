/**
 * Fault 26 (reliability.md) for the release and feature histories: on a full disk (a 64 KiB tmpfs as the
 * project's .envctl folder) a release's state write fails naming its path and leaves the previous
 * state.json whole, and an events.jsonl append that only partly fits (the kernel writes what fits
 * in the file's last page and reports a short write) fails naming the path and leaves no partial
 * line behind, so the next append after space is freed starts a line of its own; the same for a
 * logs.jsonl line (the error lines the judge counted) and a feature-history.jsonl line (`envctl
 * feature` toggles).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLine, openEventLog } from '../../src/release/recording/files.js';
import { appendFeatureHistory, featureHistoryPath, readFeatureHistory, type FeatureChange } from '../../src/state/feature-overrides.js';
import { createReleaseDir, readReleaseState, releaseDir, writeReleaseState, type ReleaseState } from '../../src/release/store.js';
import { releaseState } from '../support/release-state.js';
import { tempDir } from './support.js';

const root = process.getuid?.() === 0;
let dir: string;
let cleanup: () => Promise<void>;
let mounted: string | undefined;

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('release-full'));
});
afterAll(async () => {
  // Lazily when a failed test left a file open on it, so the tmpfs never outlives the file.
  if (mounted) execFileSync('umount', ['--lazy', mounted]);
  await cleanup();
});

const ID = 'r-20261126T120000Z-8000';

const state = (overrides: Partial<ReleaseState> = {}) => releaseState(ID, overrides);

/** Fills the tmpfs until `pages` pages are left. */
async function fill(folder: string, name: string, pages: number): Promise<void> {
  const stats = await statfs(folder);
  await writeFile(join(folder, name), Buffer.alloc((stats.bavail - pages) * stats.bsize));
  expect((await statfs(folder)).bavail).toBe(pages);
}

describe.skipIf(!root && !process.env.CI)('release and feature history on a full disk (a 64 KiB tmpfs, mounted as root; skipped without root outside CI)', () => {
  let project: string;
  let stateFolder: string;

  beforeAll(async () => {
    project = join(dir, 'project');
    stateFolder = join(project, '.envctl');
    await mkdir(stateFolder, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', stateFolder]);
    mounted = stateFolder;
    await createReleaseDir(project, ID);
  });

  it('a state write that does not fit fails naming state.json, and the previous state stays whole', async () => {
    await writeReleaseState(project, state());
    await fill(stateFolder, 'filler-state', 0);
    const path = join(releaseDir(project, ID), 'state.json');
    await expect(writeReleaseState(project, state({ step: 2, outcome: 'x'.repeat(8192) }))).rejects.toMatchObject({ code: 'STATE_WRITE', exitCode: 1, message: `cannot write ${path}: ENOSPC` });
    expect(await readReleaseState(project, ID)).toEqual(state());
    // No temporary file is left beside it.
    expect((await readdir(releaseDir(project, ID))).sort()).toEqual(['state.json']);
    await rm(join(stateFolder, 'filler-state'));
  });

  it('an event that only partly fits fails naming events.jsonl and leaves no partial line', async () => {
    const path = join(releaseDir(project, ID), 'events.jsonl');
    const events = await openEventLog(path);
    await events.append({ event: 'started', release: ID });
    const before = await readFile(path, 'utf8');
    // No free page left: the next line fits only into the rest of the file's first page.
    await fill(stateFolder, 'filler-events', 0);
    await expect(events.append({ event: 'step', release: ID, note: 'y'.repeat(6000) })).rejects.toMatchObject({ code: 'STATE_WRITE', message: expect.stringContaining(`${path}: ENOSPC`) });
    expect(await readFile(path, 'utf8')).toBe(before);
    // Space again: the next event is a whole line after the first.
    await rm(join(stateFolder, 'filler-events'));
    await events.append({ event: 'promoted', release: ID });
    await events.close();
    expect((await readFile(path, 'utf8')).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['started', 'promoted']);
  });

  it('a logs.jsonl line that only partly fits fails naming the file and leaves no partial line', async () => {
    const path = join(releaseDir(project, ID), 'logs.jsonl');
    const line = (text: string) => `${JSON.stringify({ arm: 'canary', line: text, tMonoNs: '1' })}\n`;
    await appendLine(path, line('ERROR first'));
    const before = await readFile(path, 'utf8');
    await fill(stateFolder, 'filler-logs', 0);
    await expect(appendLine(path, line(`ERROR ${'z'.repeat(6000)}`))).rejects.toMatchObject({ code: 'STATE_WRITE', message: expect.stringContaining(`${path}: ENOSPC`) });
    expect(await readFile(path, 'utf8')).toBe(before);
    await rm(join(stateFolder, 'filler-logs'));
    await appendLine(path, line('ERROR second'));
    expect((await readFile(path, 'utf8')).split('\n').filter(Boolean).map((text) => (JSON.parse(text) as { line: string }).line)).toEqual(['ERROR first', 'ERROR second']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('a feature toggle that only partly fits in feature-history.jsonl fails naming it; no change is lost or joined', async () => {
    const change = (feature: string): FeatureChange => ({ at: '2026-11-26T12:00:00.000Z', project: 'shop', env: 'default', feature, from: false, to: true, by: 'dev@host', recreated: [] });
    await appendFeatureHistory(project, change('first'));
    const path = featureHistoryPath(project);
    const before = await readFile(path, 'utf8');
    await fill(stateFolder, 'filler-features', 0);
    await expect(appendFeatureHistory(project, change(`f${'w'.repeat(6000)}`))).rejects.toMatchObject({ code: 'STATE_WRITE', message: expect.stringContaining(`${path}: ENOSPC`) });
    expect(await readFile(path, 'utf8')).toBe(before);
    await rm(join(stateFolder, 'filler-features'));
    await appendFeatureHistory(project, change('second'));
    expect((await readFeatureHistory(project)).map((entry) => entry.feature)).toEqual(['first', 'second']);
  });
});
