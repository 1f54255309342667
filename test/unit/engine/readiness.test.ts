/** The pure parts of envctl's own readiness checks (src/engine/readiness.ts). */
import { describe, expect, it } from 'vitest';
import { parseProcNetTcp } from '../../../src/checks/proc.js';
import type { Engine, ExecOptions } from '../../../src/engine/engine.js';
import { engineHonoursStartInterval, loopbackFor, notListeningInside, portsNotReady, probeArgv } from '../../../src/engine/readiness.js';

describe('engineHonoursStartInterval', () => {
  it.each([
    ['1.41', false],
    ['1.43', false],
    ['1.44', true],
    ['1.45', true],
    ['2.0', true],
    ['', false],
    [undefined, false],
  ])('API %s → %s', (version, expected) => {
    expect(engineHonoursStartInterval(version)).toBe(expected);
  });
});

describe('probeArgv', () => {
  it('runs CMD as written and CMD-SHELL through /bin/sh -c, as the engine does', () => {
    expect(probeArgv(['CMD', 'pg_isready', '-U', 'app'])).toEqual(['pg_isready', '-U', 'app']);
    expect(probeArgv(['CMD-SHELL', 'curl -f http://localhost/ || exit 1'])).toEqual(['/bin/sh', '-c', 'curl -f http://localhost/ || exit 1']);
    expect(probeArgv(['NONE'])).toBeUndefined();
    expect(probeArgv(['CMD'])).toBeUndefined();
  });
});

describe('notListeningInside', () => {
  it('is satisfied by a listener on a reachable address only: not by another port, a connection or loopback alone', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1',
      '   2: 0100007F:0BB9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0',
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    const sockets = parseProcNetTcp(text);
    expect(notListeningInside(sockets, 3000)).toBeUndefined();
    expect(notListeningInside(sockets, 5432)).toBeUndefined();
    expect(notListeningInside(sockets, 8080)).toBe('does not listen inside the container');
    expect(notListeningInside(sockets, 3001)).toBe('listens only on 127.0.0.1 inside the container, which the published port cannot reach');
  });
});

describe('loopbackFor', () => {
  it('connects to loopback for wildcard host addresses', () => {
    expect(loopbackFor('')).toBe('127.0.0.1');
    expect(loopbackFor('0.0.0.0')).toBe('127.0.0.1');
    expect(loopbackFor('::')).toBe('::1');
    expect(loopbackFor('127.0.0.2')).toBe('127.0.0.2');
  });
});

describe('portsNotReady inside the container', () => {
  const port = { target: 3000, protocol: 'tcp', hostIp: '127.0.0.1', published: 43000 };
  const TABLE = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  /** An engine whose exec writes `output` and exits with `code`, or fails with `error`. */
  const engineWith = (result: { output?: string; code?: number; error?: Error }) =>
    ({
      exec: async (_id: string, options: ExecOptions) => {
        if (result.error) throw result.error;
        options.stdout.write(result.output ?? '');
        await new Promise((resolve) => setImmediate(resolve));
        return result.code ?? 0;
      },
    }) as unknown as Engine;

  it('is ready when the port listens, and says so when it does not', async () => {
    expect(await portsNotReady(engineWith({ output: `${TABLE}\n` }), 'c', [port], { hostSide: false })).toBeUndefined();
    expect(await portsNotReady(engineWith({ output: `${TABLE}\n` }), 'c', [{ ...port, target: 8080 }], { hostSide: false })).toContain('port 8080/tcp does not listen inside the container');
  });

  it('an image without cat (the engine writes its own error into the output, exit 127) leaves the host-side check as the only one', async () => {
    const output = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "cat": executable file not found in $PATH: unknown\r\n';
    expect(await portsNotReady(engineWith({ output, code: 127 }), 'c', [port], { hostSide: false })).toBeUndefined();
    expect(await portsNotReady(engineWith({ output, code: 126 }), 'c', [port], { hostSide: false })).toBeUndefined();
  });

  it('an exec that fails (container restarting or paused, engine timeout) is not ready yet, never ready', async () => {
    const waiting = await portsNotReady(engineWith({ error: new Error('container c is restarting, wait until the container is running') }), 'c', [port], { hostSide: false });
    expect(waiting).toContain('could not be read inside the container yet');
    expect(waiting).toContain('restarting');
  });
});
