import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashBuildInputs } from '../../src/definition/build-inputs.js';
import { FileHashCache } from '../../src/state/hash-cache.js';

let dir: string;
const build = () => ({ context: join(dir, 'ctx'), dockerfile: 'Dockerfile', args: {}, target: undefined });
const old = new Date(Date.now() - 60_000);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-hash-cache-'));
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'ctx')));
  for (const [name, content] of [['Dockerfile', 'FROM scratch\n'], ['a.txt', 'alpha'], ['b.txt', 'beta']]) {
    await writeFile(join(dir, 'ctx', name!), content!);
    await utimes(join(dir, 'ctx', name!), old, old);
  }
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('build-input hashing with the file-hash cache', () => {
  it('gives the same digest with and without the cache, across runs', async () => {
    const plain = await hashBuildInputs(build());
    const first = await FileHashCache.load(dir, Date.now);
    expect(await hashBuildInputs(build(), first)).toEqual(plain);
    await first.save();
    const second = await FileHashCache.load(dir, Date.now);
    expect(await hashBuildInputs(build(), second)).toEqual(plain);
  });

  it('notices a changed file even with the same mtime when its size differs', async () => {
    const cache = await FileHashCache.load(dir, Date.now);
    const before = await hashBuildInputs(build(), cache);
    await cache.save();
    await writeFile(join(dir, 'ctx', 'a.txt'), 'alpha, changed');
    await utimes(join(dir, 'ctx', 'a.txt'), old, old);
    const after = await hashBuildInputs(build(), await FileHashCache.load(dir, Date.now));
    expect(after.digest).not.toBe(before.digest);
    expect(after).toEqual(await hashBuildInputs(build()));
  });

  it('does not remember a file written just now (its mtime may not move on the next write)', async () => {
    await writeFile(join(dir, 'ctx', 'a.txt'), 'fresh');
    const cache = await FileHashCache.load(dir, Date.now);
    await hashBuildInputs(build(), cache);
    await cache.save();
    const reloaded = await FileHashCache.load(dir, Date.now);
    const { stat } = await import('node:fs/promises');
    const info = await stat(join(dir, 'ctx', 'a.txt'));
    expect(reloaded.lookup(join(dir, 'ctx', 'a.txt'), { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino })).toBeUndefined();
    const other = await stat(join(dir, 'ctx', 'b.txt'));
    expect(reloaded.lookup(join(dir, 'ctx', 'b.txt'), { size: other.size, mtimeMs: other.mtimeMs, ino: other.ino })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('starts afresh from a corrupted cache file', async () => {
    await import('node:fs/promises').then(async (fs) => {
      await fs.mkdir(join(dir, '.envctl', 'cache'), { recursive: true });
      await fs.writeFile(join(dir, '.envctl', 'cache', 'file-hashes.json'), '{"version":1,"files":{"x": [1,2');
    });
    const cache = await FileHashCache.load(dir, Date.now);
    expect(await hashBuildInputs(build(), cache)).toEqual(await hashBuildInputs(build()));
  });
});
