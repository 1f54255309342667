/** envctl.lock: parsing and validation, the stable text form, merging environments, and the mismatch messages of --locked. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockMismatchError, mergeLock, parseLockFile, readLockFile, renderLockFile, verifyLock, writeLockFile, type LockFile } from '../../src/lockfile/lockfile.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

const LOCK: LockFile = {
  version: 1,
  project: 'shop',
  environments: {
    default: { services: { web: { image: 'shop-web:1234abcd', digest: A, built: true }, db: { image: 'envctl/base-postgres:15', digest: B, built: false } } },
  },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-lockfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('envctl.lock', () => {
  it('is written with sorted keys at every level, no timestamps, and read back identically', async () => {
    const path = await writeLockFile(dir, LOCK);
    const text = renderLockFile(LOCK);
    expect(text.indexOf('"db"')).toBeLessThan(text.indexOf('"web"'));
    expect(text.indexOf('"built"')).toBeLessThan(text.indexOf('"digest"'));
    expect(text.endsWith('}\n')).toBe(true);
    // The same content in another key order renders to the same bytes.
    const shuffled = { environments: { default: { services: { web: LOCK.environments.default!.services.web!, db: LOCK.environments.default!.services.db! } } }, project: 'shop', version: 1 } as LockFile;
    expect(renderLockFile(shuffled)).toBe(text);
    const read = await readLockFile(dir);
    expect(read).toMatchObject({ path, lock: LOCK });
    expect(read!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is absent without a file, and bad input (exit 2) naming the file and the field when it does not validate', async () => {
    expect(await readLockFile(dir)).toBeUndefined();
    expect(() => parseLockFile('{', '/p/envctl.lock')).toThrow(expect.objectContaining({ code: 'LOCK_INVALID', exitCode: 2, message: expect.stringContaining('/p/envctl.lock is not valid JSON') }));
    const badDigest = JSON.stringify({ ...LOCK, environments: { default: { services: { web: { image: 'w', digest: 'sha256:xyz', built: true } } } } });
    expect(() => parseLockFile(badDigest, '/p/envctl.lock')).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/envctl\.lock: environments\.default\.services\.web\.digest: expected an image ID/) }));
    expect(() => parseLockFile(JSON.stringify({ ...LOCK, version: 2 }), '/p/envctl.lock')).toThrow(/version/);
    expect(() => parseLockFile(JSON.stringify({ ...LOCK, extra: 1 }), '/p/envctl.lock')).toThrow(/extra/);
    await writeFile(join(dir, 'envctl.lock'), '[]');
    await expect(readLockFile(dir)).rejects.toMatchObject({ code: 'LOCK_INVALID' });
  });

  it('replaces only the environments locked again, and starts over for another project', () => {
    const staging = { services: { web: { image: 'shop-web:5678', digest: C, built: true } } };
    expect(mergeLock(LOCK, 'shop', { staging }).environments).toEqual({ default: LOCK.environments.default, staging });
    expect(mergeLock(LOCK, 'shop', { default: staging }).environments).toEqual({ default: staging });
    expect(mergeLock(LOCK, 'other', { staging }).environments).toEqual({ staging });
    expect(mergeLock(undefined, 'shop', { staging })).toEqual({ version: 1, project: 'shop', environments: { staging } });
  });
});

describe('verifying against the lock', () => {
  it('passes when every service runs the locked reference and image ID', () => {
    expect(verifyLock(LOCK, 'default', { web: { image: 'shop-web:1234abcd', digest: A, built: true }, db: { image: 'envctl/base-postgres:15', digest: B, built: false } })).toEqual([]);
  });

  it('names each service with the expected and the found digest', () => {
    const mismatches = verifyLock(LOCK, 'default', {
      // Retagged: same reference, another image.
      db: { image: 'envctl/base-postgres:15', digest: C, built: false },
      // Build inputs changed: another tag, not built yet.
      web: { image: 'shop-web:99999999', digest: undefined, built: true },
      // Added to the definition after the lock.
      cache: { image: 'envctl/base-redis:7', digest: A, built: false },
    });
    expect(mismatches.map((mismatch) => mismatch.message)).toEqual([
      `cache: not in the lock (env default), found ${A} (envctl/base-redis:7)`,
      `db: expected ${B} (envctl/base-postgres:15), found ${C} (envctl/base-postgres:15)`,
      `web: expected ${A} (shop-web:1234abcd), found shop-web:99999999, which is not in the engine (its build inputs changed, or it was never built)`,
    ]);
    expect(mismatches[1]).toMatchObject({ service: 'db', expected: { image: 'envctl/base-postgres:15', digest: B }, found: { image: 'envctl/base-postgres:15', digest: C } });
  });

  it('treats an environment missing from the lock as every service unlocked', () => {
    expect(verifyLock(LOCK, 'staging', { db: { image: 'envctl/base-postgres:15', digest: B, built: false } }).map((mismatch) => mismatch.message)).toEqual([
      `db: not in the lock (env staging), found ${B} (envctl/base-postgres:15)`,
    ]);
  });

  it('refuses with exit 1, every difference on its own line', () => {
    const error = lockMismatchError(verifyLock(LOCK, 'default', { db: { image: 'envctl/base-postgres:15', digest: C, built: false }, web: { image: 'shop-web:1234abcd', digest: A, built: true } }), 'default', '/p/envctl.lock');
    expect(error).toMatchObject({ code: 'LOCK_MISMATCH', exitCode: 1 });
    expect(error.message).toBe(`the images differ from /p/envctl.lock (env default); nothing was run:\n  db: expected ${B} (envctl/base-postgres:15), found ${C} (envctl/base-postgres:15)`);
  });
});
