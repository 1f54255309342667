/**
 * One writer per environment: `up`, `down` (and later pipeline and release) hold a lock under the
 * project's `.envctl/locks/`. A second writer is refused with the holder named; a lock left by a
 * process that no longer runs is reclaimed at once (and by proper-lockfile's staleness otherwise).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { EnvironmentError } from '../errors.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** A lock not refreshed for this long is stale even if its holder's PID looks alive (ms). */
const STALE_MS = 15_000;

export function stateDir(projectDir: string): string {
  return join(projectDir, '.envctl');
}

export async function lockEnvironment(options: { projectDir: string; prefix: string; command: string; now: () => Date }): Promise<HeldLock> {
  const dir = join(stateDir(options.projectDir), 'locks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, options.prefix);
  const holderFile = `${target}.holder.json`;
  const attempt = () =>
    lock(target, {
      realpath: false,
      stale: STALE_MS,
      update: STALE_MS / 3,
      retries: 0,
      onCompromised: () => {
        // Another process took the lock over (ours went stale): keep going, the next write re-checks.
      },
    });
  let release: () => Promise<void>;
  try {
    release = await attempt();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const holder = await readHolder(holderFile);
    if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
      await rm(`${target}.lock`, { recursive: true, force: true });
      release = await attempt();
    } else {
      const who = holder ? `PID ${holder.pid} (${holder.command}, since ${holder.since}${holder.host === hostname() ? '' : ` on ${holder.host}`})` : 'another envctl process';
      throw new EnvironmentError('LOCKED', `environment ${options.prefix} is locked by ${who}`, 'wait for it to finish, or stop it; a lock of a process that died is reclaimed automatically');
    }
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), command: options.command, since: options.now().toISOString() };
  await writeFileAtomic(holderFile, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  return {
    release: async () => {
      await rm(holderFile, { force: true });
      await release();
    },
  };
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
