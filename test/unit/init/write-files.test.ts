import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import type { TemplateFile } from '../../../src/init/template.js';
import { InitConflictError, writeFiles } from '../../../src/init/write-files.js';

const file = (path: string, text: string, mode = 0o644): TemplateFile => ({ path, content: Buffer.from(text), mode });

describe('writeFiles', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'envctl-write-'));
    dir = join(root, 'project');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the folder, nested folders and files with their modes', async () => {
    const written = await writeFiles(dir, [file('envctl.yaml', 'name: a\n'), file('services/web/run.sh', '#!/bin/sh\n', 0o755)], { force: false });
    expect(written).toEqual([
      { path: 'envctl.yaml', action: 'created' },
      { path: 'services/web/run.sh', action: 'created' },
    ]);
    expect(await readFile(join(dir, 'envctl.yaml'), 'utf8')).toBe('name: a\n');
    expect((await stat(join(dir, 'services/web/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dir, 'envctl.yaml'))).mode & 0o777).toBe(0o644);
  });

  it('refuses to replace existing files without force: lists all of them, writes nothing, exit 2', async () => {
    await mkdir(join(dir, '.github/workflows'), { recursive: true });
    await writeFile(join(dir, 'envctl.yaml'), 'mine\n');
    await writeFile(join(dir, '.github/workflows/envctl.yml'), 'mine too\n');
    const files = [file('envctl.yaml', 'new\n'), file('README.md', 'new\n'), file('.github/workflows/envctl.yml', 'new\n')];

    const error = await writeFiles(dir, files, { force: false }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InitConflictError);
    const conflict = error as InitConflictError;
    expect(conflict.exitCode).toBe(ExitCode.badInput);
    expect(conflict.files).toEqual(['envctl.yaml', '.github/workflows/envctl.yml']);
    expect(conflict.message).toContain('2 files already exist');
    expect(conflict.message).toContain('envctl.yaml, .github/workflows/envctl.yml');
    expect(conflict.hint).toContain('--force');
    expect(conflict.toJSON()).toMatchObject({ code: 'INIT_WOULD_OVERWRITE', exitCode: 2, files: ['envctl.yaml', '.github/workflows/envctl.yml'] });
    // Nothing written: the existing files keep their text and the new one does not exist.
    expect(await readFile(join(dir, 'envctl.yaml'), 'utf8')).toBe('mine\n');
    expect(await readFile(join(dir, '.github/workflows/envctl.yml'), 'utf8')).toBe('mine too\n');
    await expect(stat(join(dir, 'README.md'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces them with force and says which it replaced', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'envctl.yaml'), 'mine\n');
    const written = await writeFiles(dir, [file('envctl.yaml', 'new\n'), file('README.md', 'new\n')], { force: true });
    expect(written).toEqual([
      { path: 'envctl.yaml', action: 'replaced' },
      { path: 'README.md', action: 'created' },
    ]);
    expect(await readFile(join(dir, 'envctl.yaml'), 'utf8')).toBe('new\n');
  });

  it('counts a dangling symbolic link as existing, and with force replaces the link, not what it points to', async () => {
    await mkdir(dir, { recursive: true });
    const outside = join(root, 'outside.txt');
    await symlink(outside, join(dir, 'envctl.yaml'));
    await expect(writeFiles(dir, [file('envctl.yaml', 'new\n')], { force: false })).rejects.toBeInstanceOf(InitConflictError);
    await writeFiles(dir, [file('envctl.yaml', 'new\n')], { force: true });
    expect((await lstat(join(dir, 'envctl.yaml'))).isFile()).toBe(true);
    await expect(stat(outside)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never writes through a linked folder that leads outside the target', async () => {
    const elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    await mkdir(dir, { recursive: true });
    await symlink(elsewhere, join(dir, 'services'));
    await expect(writeFiles(dir, [file('services/web/server.js', 'x\n')], { force: false })).rejects.toMatchObject({ code: 'INIT_PATH_OUTSIDE', exitCode: 2 });
    await expect(stat(join(elsewhere, 'web'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readlink(join(dir, 'services'))).toBe(elsewhere);
  });

  it('refuses a target that is a file', async () => {
    await writeFile(join(root, 'file'), 'x\n');
    await expect(writeFiles(join(root, 'file'), [file('envctl.yaml', 'x\n')], { force: true })).rejects.toMatchObject({ code: 'INIT_NOT_A_FOLDER', exitCode: 2 });
  });

  it('refuses a folder where a file goes, even with force', async () => {
    await mkdir(join(dir, 'envctl.yaml'), { recursive: true });
    await expect(writeFiles(dir, [file('envctl.yaml', 'x\n')], { force: true })).rejects.toMatchObject({ code: 'INIT_PATH_IS_FOLDER', exitCode: 2 });
  });
});
