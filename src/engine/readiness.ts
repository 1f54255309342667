/**
 * What "ready" checks beyond the engine's own container state (reliability.md rows 10 and 14):
 *
 * - `start_interval` on engines older than API 1.44 (which ignore HealthConfig.StartInterval and
 *   probe only every `interval`): during `start_period`, envctl runs the healthcheck command itself
 *   (exec, argv, the healthcheck's timeout) every `start_interval`; one pass counts as healthy for
 *   `up`'s gate and `service_healthy` dependants. The engine's own status catches up at its next probe.
 * - Published ports of a service without a healthcheck: ready when each published TCP port accepts
 *   a connection on the host AND the container port listens inside the container (read from
 *   /proc/net/tcp{,6} in the container), as Testcontainers' HostPortWaitStrategy checks both:
 *   with the engine's userland proxy the host port accepts connections before anything listens.
 */
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { isLoopback, parseProcNetTcp, type ProcNetSocket } from '../checks/proc.js';
import type { Healthcheck } from '../definition/model.js';
import type { Engine } from './engine.js';

/** The first Engine API version that honours HealthConfig.StartInterval. */
export const START_INTERVAL_API = '1.44';

/** Whether an engine of this API version runs start_interval probes itself (unknown: assume not). */
export function engineHonoursStartInterval(apiVersion: string | undefined): boolean {
  if (!apiVersion) return false;
  const [major = 0, minor = 0] = apiVersion.split('.').map((part) => Number.parseInt(part, 10));
  const [wantMajor = 1, wantMinor = 44] = START_INTERVAL_API.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** A healthcheck whose start_interval envctl must run itself on an older engine. */
export type StartIntervalCheck = Extract<Healthcheck, { disabled: false }>;

export function needsStartIntervalProbe(healthcheck: Healthcheck | undefined): healthcheck is StartIntervalCheck {
  return healthcheck !== undefined && !healthcheck.disabled && healthcheck.startIntervalMs > 0 && healthcheck.startPeriodMs > 0;
}

/** The healthcheck's command as an exec argv: `CMD` → as written, `CMD-SHELL` → `/bin/sh -c`, as the engine runs them. */
export function probeArgv(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.length > 0 ? rest : undefined;
  if (kind === 'CMD-SHELL') return rest.length > 0 ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  return undefined;
}

/**
 * Runs the healthcheck command once in the container; true when it exits 0 within the
 * healthcheck's timeout. A probe that fails, hangs past the timeout or cannot run is false.
 */
export async function runHealthProbe(engine: Engine, containerId: string, healthcheck: StartIntervalCheck): Promise<boolean> {
  const argv = probeArgv(healthcheck.test);
  if (!argv) return false;
  const sink = new PassThrough();
  sink.resume();
  // At the timeout envctl stops waiting and closes the exec's stream (the engine's API cannot kill
  // an exec: a hung probe process lives on in the container until it ends).
  const timeout = AbortSignal.timeout(healthcheck.timeoutMs);
  try {
    return (await engine.exec(containerId, { command: argv, tty: false, stdin: undefined, stdout: sink, stderr: sink, signal: timeout })) === 0;
  } catch {
    return false;
  } finally {
    sink.destroy();
  }
}

export interface PublishedPort {
  target: number;
  protocol: string;
  hostIp: string;
  published: number;
}

/** undefined when every published TCP port answers on the host and listens inside; else what is still awaited. */
export async function portsNotReady(engine: Engine, containerId: string, ports: readonly PublishedPort[], options: { hostSide: boolean }): Promise<string | undefined> {
  const tcp = ports.filter((port) => port.protocol === 'tcp');
  if (tcp.length === 0) return undefined;
  if (options.hostSide) {
    for (const port of tcp) {
      const host = loopbackFor(port.hostIp);
      if (!(await accepts(host, port.published))) return `port ${port.target}/tcp does not accept connections on the host (${host.includes(':') ? `[${host}]` : host}:${port.published})`;
    }
  }
  const read = await containerSockets(engine, containerId);
  if (read.kind === 'unavailable') return undefined; // no `cat` in the image: the host-side check is all there is
  if (read.kind === 'failed') return `its ports could not be read inside the container yet (${read.reason})`;
  for (const port of tcp) {
    const problem = notListeningInside(read.sockets, port.target);
    if (problem) return `port ${port.target}/tcp ${problem} (published on ${port.hostIp || '0.0.0.0'}:${port.published})`;
  }
  return undefined;
}

/** undefined when something listens on `port` on an address the published port reaches; else what is wrong. */
export function notListeningInside(sockets: readonly ProcNetSocket[], port: number): string | undefined {
  const listeners = sockets.filter((socket) => socket.listening && socket.port === port);
  if (listeners.length === 0) return 'does not listen inside the container';
  if (listeners.every((socket) => isLoopback(socket.address))) return `listens only on ${listeners.map((socket) => socket.address).join(', ')} inside the container, which the published port cannot reach`;
  return undefined;
}

/** Where to connect for a published port's host address. */
export function loopbackFor(hostIp: string): string {
  if (hostIp === '' || hostIp === '0.0.0.0') return '127.0.0.1';
  if (hostIp === '::') return '::1';
  return hostIp;
}

/** Whether a TCP connection to host:port is accepted within 1 s. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** How long one read of the container's sockets may take. */
const SOCKETS_READ_TIMEOUT_MS = 5_000;

/**
 * The TCP sockets of the container's network namespace, read from /proc/net/tcp and
 * /proc/net/tcp6 by `cat` (argv, no shell; parsed as the staging `port` check does).
 * `unavailable`: the image has no `cat` (the engine reports exit 126/127, and writes its own
 * message to the exec's output, which is not a socket table). `failed`: the exec itself failed (the
 * container is restarting or paused, the engine is slow): not ready yet, asked again next time.
 */
async function containerSockets(engine: Engine, containerId: string): Promise<{ kind: 'read'; sockets: ProcNetSocket[] } | { kind: 'unavailable' } | { kind: 'failed'; reason: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  err.resume();
  let exitCode: number;
  try {
    exitCode = await engine.exec(containerId, { command: ['cat', '/proc/net/tcp', '/proc/net/tcp6'], tty: false, stdin: undefined, stdout: out, stderr: err, signal: AbortSignal.timeout(SOCKETS_READ_TIMEOUT_MS) });
  } catch (error) {
    return { kind: 'failed', reason: (error as Error).message };
  }
  const text = Buffer.concat(chunks).toString('utf8');
  // 1 with the table: /proc/net/tcp6 missing (IPv6 off), tcp read.
  if (exitCode === 126 || exitCode === 127 || !text.includes('local_address')) return { kind: 'unavailable' };
  return { kind: 'read', sockets: parseProcNetTcp(text) };
}
