import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockEnvironment } from '../../src/state/lock.js';

let home: string;
const lock = (prefix = 'shop') => lockEnvironment({ prefix, command: 'envctl up', now: () => new Date(), env: { ENVCTL_STATE_HOME: home } });

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'envctl-lock-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A lock left by a process that died: the lock folder and a holder naming a PID that does not run. */
async function leaveStaleLock(prefix: string): Promise<void> {
  await mkdir(join(home, 'locks', `${prefix}.lock`), { recursive: true });
  await writeFile(join(home, 'locks', `${prefix}.holder.json`), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), command: 'envctl up', since: '2026-01-01T00:00:00Z' }));
}

describe('the environment lock', () => {
  it('refuses a second writer, naming the holder, and frees on release', async () => {
    const first = await lock();
    await expect(lock()).rejects.toMatchObject({ code: 'LOCKED', exitCode: 3, message: expect.stringContaining(`locked by PID ${process.pid} (envctl up`) });
    await first.release();
    await (await lock()).release();
  });

  it('keeps environments apart', async () => {
    const shop = await lock('shop');
    const other = await lock('shop-ci');
    await Promise.all([shop.release(), other.release()]);
  });

  it('reclaims the lock of a dead process, for exactly one of several contenders', async () => {
    await leaveStaleLock('shop');
    const attempts = await Promise.allSettled([lock(), lock(), lock(), lock()]);
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const attempt of attempts) if (attempt.status === 'rejected') expect(attempt.reason).toMatchObject({ code: 'LOCKED' });
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lock>>>).value.release();
  });

  it('never lets two of several contenders reclaim the same dead lock (30 rounds of 6)', async () => {
    for (let round = 0; round < 30; round++) {
      await leaveStaleLock('race');
      const attempts = await Promise.allSettled(Array.from({ length: 6 }, () => lock('race')));
      const won = attempts.filter((attempt): attempt is PromiseFulfilledResult<Awaited<ReturnType<typeof lock>>> => attempt.status === 'fulfilled');
      expect(won, `round ${round}`).toHaveLength(1);
      await won[0]!.value.release();
    }
  });
});
