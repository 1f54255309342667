/**
 * One writer per environment: `up`, `down` and the pipeline's staging hold a lock named after the
 * environment (project and env), in the user's state folder, so two definitions that drive the
 * same containers (e.g. a root file that includes another) still exclude each other. A second
 * writer is refused with the holder named; a lock left by a process that no longer runs is
 * reclaimed at once (and by proper-lockfile's staleness otherwise).
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
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

/** Per-user state (locks): `$ENVCTL_STATE_HOME`, else `$XDG_STATE_HOME/envctl`, else `~/.local/state/envctl`. */
export function userStateDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.ENVCTL_STATE_HOME) return env.ENVCTL_STATE_HOME;
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'envctl');
}

export async function lockEnvironment(options: { prefix: string; command: string; now: () => Date; env?: Readonly<Record<string, string | undefined>> }): Promise<HeldLock> {
  const dir = join(userStateDir(options.env ?? process.env), 'locks');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new EnvironmentError('STATE_DIR', `cannot create the lock folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'set ENVCTL_STATE_HOME to a writable folder');
  }
  const target = join(dir, options.prefix);
  const holderFile = `${target}.holder.json`;
  const attempt = () =>
    lock(target, {
      realpath: false,
      stale: STALE_MS,
      update: STALE_MS / 3,
      retries: 0,
      onCompromised: () => {
        // Our lock went stale (the event loop was blocked for 15 s) and may have been taken over.
        // The operation in progress finishes; its writes are idempotent and labelled.
      },
    });
  const record = async (): Promise<void> => {
    const holder: LockHolder = { pid: process.pid, host: hostname(), command: options.command, since: options.now().toISOString() };
    await writeFileAtomic(holderFile, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  };
  const locked = (holder: LockHolder | undefined): EnvironmentError => {
    const who = holder ? `PID ${holder.pid} (${holder.command}, since ${holder.since}${holder.host === hostname() ? '' : ` on ${holder.host}`})` : 'another envctl process';
    return new EnvironmentError('LOCKED', `environment ${options.prefix} is locked by ${who}`, 'wait for it to finish, or stop it; a lock of a process that died is reclaimed automatically');
  };
  let release: () => Promise<void>;
  try {
    release = await attempt();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const holder = await readHolder(holderFile);
    if (!holder || holder.host !== hostname() || isAlive(holder.pid)) throw locked(holder);
    release = await reclaim(target, holderFile, holder, async () => {
      const taken = await attempt().catch(async (retryError: unknown) => {
        if ((retryError as NodeJS.ErrnoException).code !== 'ELOCKED') throw retryError;
        throw locked(await readHolder(holderFile));
      });
      await record().catch(async (recordError: unknown) => {
        await taken();
        throw recordError;
      });
      return taken;
    }, locked);
    return holdingLock(holderFile, release);
  }
  await record().catch(async (error: unknown) => {
    await release();
    throw error;
  });
  return holdingLock(holderFile, release);
}

function holdingLock(holderFile: string, release: () => Promise<void>): HeldLock {
  return {
    release: async () => {
      await rm(holderFile, { force: true });
      await release();
    },
  };
}

/**
 * Takes over the lock of a process that died, so that of several contenders exactly one wins:
 * under a guard (an exclusive mkdir), the holder is read again and must still be the dead one
 * (a winner records itself before it drops the guard); only then is the stale lock removed and
 * taken. A guard left by a process that died while reclaiming is itself stale after STALE_MS.
 */
async function reclaim(
  target: string,
  holderFile: string,
  dead: LockHolder,
  take: () => Promise<() => Promise<void>>,
  locked: (holder: LockHolder | undefined) => EnvironmentError,
): Promise<() => Promise<void>> {
  const guard = `${target}.reclaim`;
  const guardAge = await stat(guard).then(
    (stats) => Date.now() - stats.mtimeMs,
    () => undefined,
  );
  if (guardAge !== undefined && guardAge > STALE_MS) await rm(guard, { recursive: true, force: true });
  try {
    await mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw locked(await readHolder(holderFile));
    throw error;
  }
  try {
    const now = await readHolder(holderFile);
    if (!now || now.pid !== dead.pid || now.since !== dead.since || now.host !== dead.host) throw locked(now);
    await rm(`${target}.lock`, { recursive: true, force: true });
    return await take();
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
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
