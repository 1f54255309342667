/**
 * Writing a scaffold: every path stays inside the target folder (symlinks resolved), and an existing
 * file is never replaced without `force`. Without it, nothing at all is written and the error lists
 * every file that would have been replaced.
 */
import { lstat, mkdir, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { UsageError } from '../errors.js';
import type { TemplateFile } from './template.js';

export interface WrittenFile {
  /** Relative to the target folder, `/`-separated. */
  path: string;
  action: 'created' | 'replaced';
}

/** Existing files in the way, exit 2; `files` names them (also in `--json`). */
export class InitConflictError extends UsageError {
  readonly files: readonly string[];

  constructor(dir: string, files: readonly string[]) {
    super(
      'INIT_WOULD_OVERWRITE',
      `${files.length} file${files.length === 1 ? '' : 's'} already exist${files.length === 1 ? 's' : ''} in ${dir}: ${files.join(', ')}; nothing was written`,
      'pass --force to replace them, or init into another folder',
    );
    this.files = files;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), files: this.files };
  }
}

/** The files of `files` that already exist under `dir` (anything at the path counts, even a folder or a link). */
export async function existingFiles(dir: string, files: readonly TemplateFile[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    if (await lstat(targetPath(dir, file.path)).catch(() => undefined)) found.push(file.path);
  }
  return found;
}

export async function writeFiles(dir: string, files: readonly TemplateFile[], options: { force: boolean }): Promise<WrittenFile[]> {
  const folder = await stat(dir).catch(() => undefined);
  if (folder && !folder.isDirectory()) throw new UsageError('INIT_NOT_A_FOLDER', `${dir} exists and is not a folder`, 'give a folder (it is created when missing)');
  const existing = new Set(await existingFiles(dir, files));
  if (existing.size > 0 && !options.force) throw new InitConflictError(dir, [...existing]);
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const written: WrittenFile[] = [];
  for (const file of files) {
    const target = targetPath(dir, file.path);
    const info = await lstat(target).catch(() => undefined);
    if (info?.isDirectory()) throw new UsageError('INIT_PATH_IS_FOLDER', `${file.path} is a folder in ${dir}; a file would go there`, 'move or remove the folder');
    // A folder on the way may be a symbolic link: nothing, not even a folder, may land outside the target.
    const parent = await realpath(await nearestExisting(dirname(target)));
    if (parent !== root && !parent.startsWith(root + sep)) {
      throw new UsageError('INIT_PATH_OUTSIDE', `${file.path} would be written outside ${dir} (through ${parent})`, 'remove the symbolic link, or init into another folder');
    }
    await mkdir(dirname(target), { recursive: true });
    // A link is replaced by the file, never followed (write-file-atomic would write where it points).
    if (info?.isSymbolicLink()) await unlink(target);
    await writeFileAtomic(target, file.content, { mode: file.mode });
    written.push({ path: file.path, action: info ? 'replaced' : 'created' });
  }
  return written;
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    if (await lstat(current).catch(() => undefined)) return current;
    if (dirname(current) === current) return current;
  }
}

/** Where a template path goes; a path that climbs out of `dir` is a bug in the caller. */
function targetPath(dir: string, path: string): string {
  const target = resolve(dir, path);
  const rel = relative(dir, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`template path ${path} leaves the target folder`);
  return target;
}
