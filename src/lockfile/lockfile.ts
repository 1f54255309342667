/**
 * `envctl.lock`: the image each service runs, pinned by the engine's image ID (`sha256:…`, the
 * local digest: envctl never talks to a registry), per environment. Written by `envctl lock` in a
 * stable order (sorted keys, no timestamps) so it diffs cleanly in review; checked by
 * `up --locked` and `pipeline --locked`. Pure except reading and writing the file.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import stringify from 'safe-stable-stringify';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { UsageError, WorkFailedError } from '../errors.js';

export const LOCK_FILE_NAME = 'envctl.lock';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected an image ID such as sha256:<64 hex digits>' });

const lockedImageSchema = z.strictObject({
  /** The reference the service's container is created from (a built service's content-addressed tag). */
  image: z.string().min(1),
  /** The engine's image ID for it. */
  digest,
  /** True when envctl builds the image (`build:`). */
  built: z.boolean(),
});
export type LockedImage = z.infer<typeof lockedImageSchema>;

export const lockFileSchema = z.strictObject({
  version: z.literal(1),
  project: z.string().min(1),
  environments: z.record(z.string(), z.strictObject({ services: z.record(z.string(), lockedImageSchema) })),
});
export type LockFile = z.infer<typeof lockFileSchema>;

export function lockFilePath(projectDir: string): string {
  return join(projectDir, LOCK_FILE_NAME);
}

/** Parses and validates the text of a lock file; bad input (exit 2) naming the file and the first problem. */
export function parseLockFile(text: string, path: string): LockFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError('LOCK_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, 'run `envctl lock` to write it again');
  }
  const parsed = lockFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError('LOCK_INVALID', `${path}: ${issue.path.join('.') || 'the file'}: ${issue.message}`, 'run `envctl lock` to write it again');
  }
  return parsed.data;
}

/** The lock file and the sha256 of its bytes (what a pipeline run records); undefined when there is none. */
export async function readLockFile(projectDir: string): Promise<{ lock: LockFile; path: string; sha256: string } | undefined> {
  const path = lockFilePath(projectDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError('LOCK_UNREADABLE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check its permissions');
  }
  return { lock: parseLockFile(text, path), path, sha256: createHash('sha256').update(text).digest('hex') };
}

/** Stable text: keys sorted at every level, two-space indent, a final newline. */
export function renderLockFile(lock: LockFile): string {
  return `${stringify(lock, null, 2)}\n`;
}

export async function writeLockFile(projectDir: string, lock: LockFile): Promise<string> {
  const path = lockFilePath(projectDir);
  try {
    await writeFileAtomic(path, renderLockFile(lock));
  } catch (error) {
    throw new WorkFailedError('LOCK_WRITE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the project folder; the old lock file is unchanged');
  }
  return path;
}

/** The lock with the given environments replaced (the others kept as they were). */
export function mergeLock(existing: LockFile | undefined, project: string, environments: LockFile['environments']): LockFile {
  const kept = existing && existing.project === project ? existing.environments : {};
  return { version: 1, project, environments: { ...kept, ...environments } };
}

/** What a service would run now: the reference and, when the engine has it, its image ID. */
export interface ImageInUse {
  image: string;
  digest: string | undefined;
  built: boolean;
}

export interface LockMismatch {
  service: string;
  expected: { image: string; digest: string } | undefined;
  found: { image: string; digest: string | undefined };
  /** One line: `web: expected sha256:… (ref), found sha256:… (ref)`. */
  message: string;
}

/** Every service of the environment whose image differs from the lock (pure). */
export function verifyLock(lock: LockFile, env: string, inUse: Readonly<Record<string, ImageInUse>>): LockMismatch[] {
  const locked = lock.environments[env]?.services ?? {};
  const mismatches: LockMismatch[] = [];
  for (const service of Object.keys(inUse).sort()) {
    const found = inUse[service]!;
    const expected = Object.hasOwn(locked, service) ? locked[service]! : undefined;
    const foundText = found.digest ? `${found.digest} (${found.image})` : `${found.image}, which is not in the engine${found.built ? ' (its build inputs changed, or it was never built)' : ''}`;
    if (!expected) {
      mismatches.push({ service, expected: undefined, found: { image: found.image, digest: found.digest }, message: `${service}: not in the lock (env ${env}), found ${foundText}` });
    } else if (expected.digest !== found.digest || expected.image !== found.image) {
      mismatches.push({
        service,
        expected: { image: expected.image, digest: expected.digest },
        found: { image: found.image, digest: found.digest },
        message: `${service}: expected ${expected.digest} (${expected.image}), found ${foundText}`,
      });
    }
  }
  return mismatches;
}

/** The refusal of `--locked`: the work cannot run as locked (exit 1), every mismatch named. */
export function lockMismatchError(mismatches: readonly LockMismatch[], env: string, path: string): WorkFailedError {
  return new WorkFailedError(
    'LOCK_MISMATCH',
    `the images differ from ${path} (env ${env}); nothing was run:\n${mismatches.map((mismatch) => `  ${mismatch.message}`).join('\n')}`,
    'run what the lock names (check out the commit that wrote it, or load its images), or accept the new images with `envctl lock`',
  );
}

export function noLockError(projectDir: string): UsageError {
  return new UsageError('NO_LOCK', `--locked: there is no ${LOCK_FILE_NAME} in ${projectDir}`, 'write one with `envctl lock` (and commit it)');
}
