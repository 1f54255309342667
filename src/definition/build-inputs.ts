/**
 * Content hash of an image's build inputs: every file of the context that Docker would send
 * (honouring .dockerignore), the Dockerfile, build args and target. An unchanged hash means the
 * image is not rebuilt; it is also the image tag, so a changed input recreates the container.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import dockerignore, { type Ignore } from '@balena/dockerignore';
import type { BuildSpec } from './model.js';

// The package is CommonJS whose module.exports is the factory; its typings describe it as a default export.
const createIgnore = dockerignore as unknown as (options: { ignorecase: boolean }) => Ignore;

export interface BuildInputs {
  /** `sha256:<hex>` over all inputs. */
  digest: string;
  fileCount: number;
}

/**
 * Which paths of a build context Docker sends: `.dockerignore` applied, the Dockerfile and
 * `.dockerignore` always included, envctl's `.envctl/` state folder never. Paths are relative, with `/`; directories end with `/`.
 */
export async function buildContextFilter(build: Pick<BuildSpec, 'context' | 'dockerfile'>): Promise<(relativePath: string) => boolean> {
  const ignoreFile = await readFile(join(build.context, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = createIgnore({ ignorecase: false }).add(ignoreFile.split(/\r?\n/));
  const dockerfile = posix.normalize(build.dockerfile.split(sep).join('/'));
  return (rel) => {
    // envctl's own state (locks, run records) may sit in the context: it is never an input.
    if (rel === STATE_DIR || rel.startsWith(`${STATE_DIR}/`)) return false;
    return rel === dockerfile || rel === '.dockerignore' || !ignore.ignores(rel);
  };
}

/** envctl's state folder in a project (see state/); excluded from every build context. */
const STATE_DIR = '.envctl';

/** Remembered file hashes (see state/hash-cache.ts); optional, hashing is the same without. */
export interface FileHashLookup {
  lookup(path: string, facts: { size: number; mtimeMs: number; ino: number }): string | undefined;
  remember(path: string, facts: { size: number; mtimeMs: number; ino: number }, sha256: string): void;
}

export async function hashBuildInputs(build: BuildSpec, cache?: FileHashLookup): Promise<BuildInputs> {
  const included = await buildContextFilter(build);
  const dockerfile = posix.normalize(build.dockerfile.split(sep).join('/'));
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const absolute = join(dir, entry.name);
      const rel = relative(build.context, absolute).split(sep).join('/');
      if (!included(entry.isDirectory() ? `${rel}/` : rel)) continue;
      if (entry.isDirectory()) await walk(absolute);
      else files.push(rel);
    }
  };
  await walk(build.context);
  files.sort();
  const hash = createHash('sha256');
  hash.update(`dockerfile=${dockerfile}\ntarget=${build.target ?? ''}\n`);
  for (const key of Object.keys(build.args).sort()) hash.update(`arg ${key}=${build.args[key]}\n`);
  for (const rel of files) {
    const absolute = join(build.context, rel);
    const info = await lstat(absolute);
    let fileHash: string;
    if (info.isSymbolicLink()) {
      fileHash = createHash('sha256').update(`link:${await readlink(absolute)}`).digest('hex');
    } else {
      const facts = { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
      const known = cache?.lookup(absolute, facts);
      fileHash = known ?? createHash('sha256').update(await readFile(absolute)).digest('hex');
      if (known === undefined) cache?.remember(absolute, facts, fileHash);
    }
    hash.update(`file ${rel} ${info.mode & 0o111 ? 'x' : '-'} ${fileHash}\n`);
  }
  return { digest: `sha256:${hash.digest('hex')}`, fileCount: files.length };
}

/** The local tag of a built image: `<project>-<service>:<first 12 hex of the input digest>`. */
export function builtImageRef(project: string, service: string, digest: string): string {
  return `${project}-${service}:${digest.replace(/^sha256:/, '').slice(0, 12)}`.toLowerCase();
}
