/**
 * The retry loop and the reasons of each kind, over a fake engine that answers execs from a
 * script and a fake clock that only moves when the loop sleeps.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCheck, runChecks } from '../../../src/checks/run-checks.js';
import type { CheckContext, CheckTiming, InfraCheck } from '../../../src/checks/types.js';
import type { Engine, ExecOptions } from '../../../src/engine/engine.js';
import type { ContainerStatus } from '../../../src/engine/types.js';
import { EnvironmentError, WorkFailedError } from '../../../src/errors.js';

interface ExecAnswer {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}
type ExecScript = (command: string[], call: number) => ExecAnswer | Promise<ExecAnswer>;

function fakeEngine(script: ExecScript, status: Partial<ContainerStatus> = {}): Engine & { calls: string[][] } {
  const calls: string[][] = [];
  const engine = {
    calls,
    async exec(_id: string, options: ExecOptions): Promise<number> {
      calls.push(options.command);
      const answer = await script(options.command, calls.length);
      if (answer.stdout) options.stdout.write(Buffer.from(answer.stdout));
      if (answer.stderr) options.stderr.write(Buffer.from(answer.stderr));
      return answer.exitCode ?? 0;
    },
    async inspectContainer(id: string): Promise<ContainerStatus> {
      return { id, name: 'web-1', state: 'running', health: undefined, healthOutput: undefined, exitCode: 0, restartCount: 0, oomKilled: false, startedAt: undefined, ...status };
    },
  };
  return engine as unknown as Engine & { calls: string[][] };
}

function context(engine: Engine, options: { signal?: AbortSignal; published?: { host: string; port: number }; onSleep?: () => void } = {}): CheckContext & { clock: () => number } {
  let clock = Date.parse('2025-06-01T00:00:00Z');
  return {
    engine,
    containerOf: (service) => (service === 'web' ? 'c0ffee' : undefined),
    publishedAddress: () => options.published,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      options.onSleep?.();
    },
    signal: options.signal ?? new AbortController().signal,
    clock: () => clock,
  };
}

const TIMING: CheckTiming = { timeoutMs: 1_000, intervalMs: 100 };

afterEach(() => {
  vi.useRealTimers();
});

/** A promise and whether it has settled yet (read after advancing fake timers). */
function settled<T>(promise: Promise<T>): { promise: Promise<T>; done: boolean } {
  const tracked = { promise, done: false };
  promise.then(
    () => (tracked.done = true),
    () => (tracked.done = true),
  );
  return tracked;
}

const command = (run: string[], extra: Partial<Extract<InfraCheck, { kind: 'command' }>> = {}): InfraCheck => ({ kind: 'command', name: `command web: ${run.join(' ')}`, service: 'web', run, exitCode: 0, contains: undefined, ...extra });

describe('runCheck: retries', () => {
  it('passes on the first attempt and says what it verified', async () => {
    const ctx = context(fakeEngine(() => ({ stdout: 'ready\n' })));
    const result = await runCheck(command(['true'], { contains: 'ready' }), ctx, TIMING);
    expect(result).toEqual({ name: 'command web: true', kind: 'command', service: 'web', status: 'passed', reasons: ['`true` exited with 0 in web', 'its output contains "ready"'], durationMs: 0, attempts: 1 });
  });

  it('retries every intervalMs until the check passes', async () => {
    const engine = fakeEngine((_command, call) => (call < 3 ? { stderr: "stat: cannot statx '/data/x': No such file or directory", exitCode: 1 } : { stdout: '644|5|regular file\n' }));
    const ctx = context(engine);
    const result = await runCheck({ kind: 'file', name: 'file web:/data/x', service: 'web', path: '/data/x', mode: '0644', sha256: undefined, contains: undefined }, ctx, TIMING);
    expect(result.status).toBe('passed');
    expect(result.attempts).toBe(3);
    expect(result.durationMs).toBe(200);
    expect(result.reasons).toEqual(['/data/x is a regular file in web', 'mode 0644']);
  });

  it('gives up once timeoutMs has passed and reports the last attempt', async () => {
    const ctx = context(fakeEngine((_command, call) => ({ stdout: `attempt ${call}`, exitCode: 1 })));
    const result = await runCheck(command(['check']), ctx, TIMING);
    // Attempts at 0, 100, …, 1000 ms.
    expect(result).toMatchObject({ status: 'failed', attempts: 11, durationMs: 1_000, reasons: ['`check` exited with 1 in web, expected 0; output: attempt 11'] });
  });

  it('never sleeps past the timeout', async () => {
    const ctx = context(fakeEngine(() => ({ exitCode: 1 })));
    const result = await runCheck(command(['check']), ctx, { timeoutMs: 250, intervalMs: 100 });
    expect(result).toMatchObject({ attempts: 4, durationMs: 250 });
  });

  it('makes exactly one attempt with a timeout of 0', async () => {
    const ctx = context(fakeEngine(() => ({ exitCode: 1 })));
    expect(await runCheck(command(['check']), ctx, { timeoutMs: 0, intervalMs: 100 })).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('does not retry a check that cannot pass (an invalid pattern)', async () => {
    const engine = fakeEngine(() => ({ stdout: 'A=1\0' }));
    const result = await runCheck({ kind: 'env', name: 'env web:A', service: 'web', variable: 'A', value: undefined, matches: '([a-z' }, context(engine), TIMING);
    expect(result.attempts).toBe(1);
    expect(engine.calls).toEqual([]);
    expect(result.reasons[0]).toMatch(/^the pattern \/\(\[a-z\/ is not a valid regular expression: /);
  });

  it('bounds an attempt whose command never finishes (the attempt timer fires at 1 s, on a fake timer)', async () => {
    vi.useFakeTimers();
    const ctx = context(fakeEngine(() => new Promise<ExecAnswer>(() => undefined)));
    const pending = settled(runCheck(command(['sleep', '3600']), ctx, { timeoutMs: 0, intervalMs: 100 }));
    await vi.advanceTimersByTimeAsync(999);
    expect(pending.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.done).toBe(true);
    expect((await pending.promise).reasons).toEqual(['`sleep 3600` did not finish within 1 s in web']);
  });
});

describe('runCheck: cancellation', () => {
  it('stops retrying when the signal aborts and keeps the last reasons', async () => {
    const controller = new AbortController();
    let sleeps = 0;
    const ctx = context(fakeEngine(() => ({ stdout: 'not yet', exitCode: 1 })), { signal: controller.signal, onSleep: () => (++sleeps === 2 ? controller.abort() : undefined) });
    const result = await runCheck(command(['check']), ctx, TIMING);
    expect(result).toMatchObject({ status: 'failed', attempts: 2, reasons: ['cancelled before the check passed', '`check` exited with 1 in web, expected 0; output: not yet'] });
  });

  it('does not start when the signal has already aborted', async () => {
    const engine = fakeEngine(() => ({}));
    const result = await runCheck(command(['check']), context(engine, { signal: AbortSignal.abort() }), TIMING);
    expect(result).toMatchObject({ status: 'failed', attempts: 0, reasons: ['cancelled before the check passed'] });
    expect(engine.calls).toEqual([]);
  });

  it('stops waiting for a hanging command when the signal aborts', async () => {
    const controller = new AbortController();
    const ctx = context(fakeEngine(() => new Promise<ExecAnswer>(() => undefined)), { signal: controller.signal });
    vi.useFakeTimers();
    const pending = settled(runCheck(command(['sleep', '3600']), ctx, { timeoutMs: 60_000, intervalMs: 100 }));
    await vi.advanceTimersByTimeAsync(50);
    expect(pending.done).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.done).toBe(true);
    expect(await pending.promise).toMatchObject({ status: 'failed', attempts: 1, reasons: ['cancelled before the check passed'] });
  });
});

describe('runCheck: the service or the engine fails', () => {
  const once: CheckTiming = { timeoutMs: 0, intervalMs: 100 };
  const failingExec = (error: Error): ExecScript => () => {
    throw error;
  };

  it.each([
    ['no container for the service', 'db', {}, new WorkFailedError('X', 'unused'), 'db has no running container'],
    ['the container has exited', 'web', { state: 'exited', exitCode: 137 }, new WorkFailedError('ENGINE_CALL_FAILED', 'the Docker engine failed to exec in c0ffee: (HTTP code 409) container is not running'), 'web is not running (its container is exited, exit code 137)'],
    ['the container was killed for memory', 'web', { state: 'exited', exitCode: 137, oomKilled: true }, new WorkFailedError('E', 'conflict'), 'web is not running (its container is exited, exit code 137, killed for lack of memory)'],
    ['the container is paused', 'web', { state: 'paused' }, new WorkFailedError('E', 'conflict'), 'web is not running (its container is paused)'],
    ['exec fails in a running container', 'web', {}, new WorkFailedError('E', 'boom\u001b[2J'), 'could not run `cat /proc/self/mountinfo` in web: boom'],
  ] as const)('%s', async (_name, service, status, error, reason) => {
    const ctx = context(fakeEngine(failingExec(error), status));
    const result = await runCheck({ kind: 'mount', name: 'mount', service, path: '/data', mode: undefined }, ctx, once);
    expect(result).toMatchObject({ status: 'failed', reasons: [reason] });
  });

  it('throws when the engine itself is unreachable: no check can go on', async () => {
    const ctx = context(fakeEngine(failingExec(new EnvironmentError('ENGINE_NOT_FOUND', 'no Docker engine'))));
    await expect(runCheck(command(['true']), ctx, once)).rejects.toBeInstanceOf(EnvironmentError);
  });
});

describe('reasons per kind', () => {
  const once: CheckTiming = { timeoutMs: 0, intervalMs: 100 };
  const TCP = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
    '   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
    '   2: 0200000A:0BB8 0100000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
  ].join('\n');

  it.each([
    ['a listening, unpublished port passes', 3000, 'passed', ['0.0.0.0:3000 listens inside web', '3000 is not published on the host']],
    ['a closed port names the ports that do listen', 4000, 'failed', ['nothing listens on 4000 inside web (listening: 3000, 5432)']],
  ] as const)('port: %s', async (_name, port, status, reasons) => {
    const ctx = context(fakeEngine(() => ({ stdout: TCP, stderr: 'cat: /proc/net/tcp6: No such file or directory', exitCode: 1 })));
    expect(await runCheck({ kind: 'port', name: 'port', service: 'web', port }, ctx, once)).toMatchObject({ status, reasons });
  });

  const MOUNTINFO = ['1 0 0:1 / / rw - overlay overlay rw', '2 1 254:0 /var/lib/docker/volumes/d/_data /data rw,relatime - ext4 /dev/vda rw', '3 1 254:0 /tmp/c /certs ro,relatime - ext4 /dev/vda rw'].join('\n');
  it.each([
    ['a rw volume', '/data', 'rw', 'passed', ['/data is a read-write ext4 mount in web']],
    ['a ro bind, any mode', '/certs/', undefined, 'passed', ['/certs/ is a read-only ext4 mount in web']],
    ['rw where ro is expected', '/data', 'ro', 'failed', ['/data is mounted read-write in web, expected read-only']],
    ['not a mount point', '/data/sub', undefined, 'failed', ['/data/sub is not a mount point in web']],
  ] as const)('mount: %s', async (_name, path, mode, status, reasons) => {
    const ctx = context(fakeEngine(() => ({ stdout: MOUNTINFO })));
    expect(await runCheck({ kind: 'mount', name: 'mount', service: 'web', path, mode }, ctx, once)).toMatchObject({ status, reasons });
  });

  const SHA = 'a'.repeat(64);
  const fileEngine = (stat: ExecAnswer) =>
    fakeEngine((cmd) => (cmd[0] === 'stat' ? stat : cmd[0] === 'sha256sum' ? { stdout: `${SHA}  ${cmd[2]}\n` } : { stdout: 'hello world' }));
  it.each([
    ['all expectations met', { stdout: '640|11|regular file\n' }, { mode: '640', sha256: SHA, contains: 'world' }, 'passed', ['/f is a regular file in web', 'mode 0640', `sha256 ${SHA}`, 'contains "world"']],
    ['every unmet expectation is a reason', { stdout: '644|11|regular file\n' }, { mode: '0600', sha256: 'b'.repeat(64), contains: 'bye' }, 'failed', ['/f has mode 0644 in web, expected 0600', `/f has sha256 ${SHA} in web, expected ${'b'.repeat(64)}`, '/f does not contain "bye" in web']],
    ['missing', { stderr: "stat: cannot statx '/f': No such file or directory", exitCode: 1 }, {}, 'failed', ['/f does not exist in web']],
    ['unreadable', { stderr: "stat: cannot statx '/f': Permission denied", exitCode: 1 }, {}, 'failed', ["could not stat /f in web: stat: cannot statx '/f': Permission denied"]],
    ['a directory', { stdout: '755|4096|directory\n' }, { mode: '755' }, 'failed', ['/f is a directory, not a regular file, in web']],
    ['an empty regular file', { stdout: '644|0|regular empty file\n' }, {}, 'passed', ['/f is a regular file in web']],
  ] as const)('file: %s', async (_name, stat, expect_, status, reasons) => {
    const ctx = context(fileEngine(stat));
    const check: InfraCheck = { kind: 'file', name: 'file', service: 'web', path: '/f', mode: undefined, sha256: undefined, contains: undefined, ...expect_ };
    expect(await runCheck(check, ctx, once)).toMatchObject({ status, reasons });
  });

  const ENVIRON = 'PATH=/usr/bin\0LEVEL=debug\0DB_PASSWORD=hunter2\0MULTI=a\nb\0DATABASE_URL=postgres://app:hunter2@db:5432/app\0';
  it.each([
    ['set', 'LEVEL', undefined, undefined, 'passed', ['LEVEL is "debug" in web']],
    ['equal', 'LEVEL', 'debug', '^de', 'passed', ['LEVEL is "debug" in web']],
    ['not set', 'MISSING', undefined, undefined, 'failed', ['MISSING is not set in web']],
    ['a different value', 'LEVEL', 'info', undefined, 'failed', ['LEVEL is "debug" in web, expected "info"']],
    ['no match', 'LEVEL', undefined, '^(info|warn)$', 'failed', ['LEVEL is "debug" in web, which does not match /^(info|warn)$/']],
    ['a secret is never shown', 'DB_PASSWORD', 'letmein', undefined, 'failed', ['DB_PASSWORD is (hidden, 7 characters) in web, expected (hidden, 7 characters)']],
    ['a value with a newline is shown on one line', 'MULTI', 'ab', undefined, 'failed', ['MULTI is "a b" in web, expected "ab"']],
    ['a password inside a URL is never shown', 'DATABASE_URL', undefined, '^mysql:', 'failed', ['DATABASE_URL is "postgres://app:***@db:5432/app" in web, which does not match /^mysql:/']],
  ] as const)('env: %s', async (_name, variable, value, matches, status, reasons) => {
    const engine = fakeEngine(() => ({ stdout: ENVIRON }));
    expect(await runCheck({ kind: 'env', name: 'env', service: 'web', variable, value, matches }, context(engine), once)).toMatchObject({ status, reasons });
    expect(engine.calls).toEqual([['cat', '/proc/self/environ']]);
  });

  it.each([
    ['an exit code mismatch shows the output', { stdout: 'line1\n', stderr: 'oops\n', exitCode: 3 }, 0, undefined, ['`migrate --check` exited with 3 in web, expected 0; output: line1 oops']],
    ['the expected non-zero exit code passes', { exitCode: 2 }, 2, undefined, []],
    ['contains looks at stdout and stderr together', { stderr: 'schema up to date' }, 0, 'up to date', []],
    ['missing output', { stdout: 'pending: 3' }, 0, 'up to date', ['the output of `migrate --check` in web does not contain "up to date"; output: pending: 3']],
  ] as const)('command: %s', async (_name, answer, exitCode, contains, failures) => {
    const result = await runCheck(command(['migrate', '--check'], { exitCode, contains }), context(fakeEngine(() => answer)), once);
    expect(result.status).toBe(failures.length === 0 ? 'passed' : 'failed');
    if (failures.length > 0) expect(result.reasons).toEqual(failures);
  });

  it('certificate: a missing file', async () => {
    const ctx = context(fakeEngine(() => ({ stderr: "head: cannot open '/certs/x.pem' for reading: No such file or directory", exitCode: 1 })));
    const result = await runCheck({ kind: 'certificate', name: 'cert', service: 'web', path: '/certs/x.pem', minDays: 14, subject: undefined }, ctx, once);
    expect(result).toMatchObject({ status: 'failed', reasons: ['/certs/x.pem does not exist in web'] });
  });

  it('http: an unpublished port fails at once with why', async () => {
    const result = await runCheck({ kind: 'http', name: 'http', service: 'web', path: '/', port: 8080, status: 200, contains: undefined }, context(fakeEngine(() => ({}))), TIMING);
    expect(result).toMatchObject({ status: 'failed', attempts: 1, reasons: ['web does not publish container port 8080 on the host, so it cannot be reached over HTTP'] });
  });
});

describe('runChecks', () => {
  const checks = Array.from({ length: 7 }, (_, index) => command([`check-${index}`]));

  it('returns results in the order of the checks, reports each as it completes, and runs at most 4 at once', async () => {
    let running = 0;
    let most = 0;
    const engine = fakeEngine(async (cmd) => {
      running += 1;
      most = Math.max(most, running);
      // Later checks finish first.
      await new Promise((resolve) => setTimeout(resolve, 70 - Number(cmd[0]!.slice(6)) * 10));
      running -= 1;
      return { exitCode: cmd[0] === 'check-2' ? 1 : 0 };
    });
    const reported: string[] = [];
    const results = await runChecks(checks, context(engine), { timeoutMs: 0, intervalMs: 10 }, (result) => reported.push(result.name));
    expect(results.map((result) => `${result.name} ${result.status}`)).toEqual(checks.map((check, index) => `${check.name} ${index === 2 ? 'failed' : 'passed'}`));
    expect(reported).toHaveLength(7);
    expect(reported).not.toEqual(results.map((result) => result.name));
    expect(most).toBe(4);
  });

  it('starts no further check once the signal aborts; the running ones end as cancelled', async () => {
    const controller = new AbortController();
    const engine = fakeEngine(() => new Promise<ExecAnswer>(() => undefined));
    setTimeout(() => controller.abort(), 20);
    const results = await runChecks(checks, context(engine, { signal: controller.signal }), TIMING);
    expect(engine.calls.map((call) => call[0])).toEqual(['check-0', 'check-1', 'check-2', 'check-3']);
    expect(results.map((result) => `${result.name}: ${result.reasons.join('; ')}`)).toEqual(checks.slice(0, 4).map((check) => `${check.name}: cancelled before the check passed`));
  });

  it('rethrows an unreachable engine after the running checks stop', async () => {
    const engine = fakeEngine((cmd) => {
      if (cmd[0] === 'check-0') throw new EnvironmentError('ENGINE_NOT_FOUND', 'no Docker engine');
      return { exitCode: 1 };
    });
    await expect(runChecks(checks, context(engine), { timeoutMs: 60_000, intervalMs: 10 })).rejects.toBeInstanceOf(EnvironmentError);
  });
});
