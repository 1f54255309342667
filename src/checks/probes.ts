/**
 * The three ways a check looks at a service: a command run in its container (output captured in
 * memory, capped), a TCP connection to its published port, and an HTTP GET to it. Each returns a
 * value: what it saw, or why it could not see it, in words a person understands. Only an
 * unreachable engine (EnvironmentError) is thrown: then no check can go on.
 */
import { request as httpRequest } from 'node:http';
import { createConnection } from 'node:net';
import { Writable } from 'node:stream';
import { EnvironmentError } from '../errors.js';
import { excerpt, seconds, showCommand } from './text.js';
import type { CheckContext } from './types.js';

/** The most a check reads from a file, a command's output or an HTTP body (bytes). */
export const MAX_READ_BYTES = 1024 * 1024;
/** Per TCP connection attempt and per HTTP request (ms), as goss's default http timeout. */
export const REQUEST_TIMEOUT_MS = 5_000;
/**
 * How long a fresh connection must stay open (ms). Docker's userland proxy accepts on the host
 * port even when nothing answers in the container, then closes at once (Testcontainers checks
 * inside the container for the same reason); a real server keeps it open for the client to speak.
 */
export const CONNECTION_SETTLE_MS = 200;
/** How long the diagnosis of a failed exec may take to inspect the container (ms). */
const INSPECT_TIMEOUT_MS = 5_000;

export const CANCELLED = 'cancelled';

export type Settled<T> = { state: 'done'; value: T } | { state: 'failed'; error: unknown } | { state: 'timeout' } | { state: 'aborted' };

/** Waits for a promise at most `ms`, or until the signal aborts; the promise itself cannot be stopped and is left to settle. */
export function settleWithin<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<Settled<T>> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (settled: Settled<T>) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(settled);
    };
    const onAbort = () => finish({ state: 'aborted' });
    const timer = setTimeout(() => finish({ state: 'timeout' }), Math.max(ms, 0));
    promise.then(
      (value) => finish({ state: 'done', value }),
      (error: unknown) => finish({ state: 'failed', error }),
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Bytes kept up to a cap; the rest is counted as cut off. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly maxBytes: number) {}

  append(chunk: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function captureInto(...buffers: CappedBuffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (const buffer of buffers) buffer.append(bytes);
      callback();
    },
  });
}

export type ExecOutcome =
  | { ok: true; exitCode: number; stdout: string; stderr: string; /** stdout and stderr as they arrived. */ output: string; truncated: boolean }
  | { ok: false; reason: string };

/** Runs `command` in the service's container and captures its output (each stream capped at `maxBytes`). */
export async function execIn(ctx: CheckContext, service: string, command: string[], limits: { timeoutMs: number; maxBytes?: number }): Promise<ExecOutcome> {
  const id = ctx.containerOf(service);
  if (id === undefined) return { ok: false, reason: `${service} has no running container` };
  const maxBytes = limits.maxBytes ?? MAX_READ_BYTES;
  const stdout = new CappedBuffer(maxBytes);
  const stderr = new CappedBuffer(maxBytes);
  const output = new CappedBuffer(maxBytes);
  const running = ctx.engine.exec(id, { command, tty: false, stdin: undefined, stdout: captureInto(stdout, output), stderr: captureInto(stderr, output) });
  const settled = await settleWithin(running, limits.timeoutMs, ctx.signal);
  switch (settled.state) {
    case 'done':
      return { ok: true, exitCode: settled.value, stdout: stdout.text(), stderr: stderr.text(), output: output.text(), truncated: stdout.truncated || stderr.truncated };
    case 'timeout':
      // The engine cannot stop an exec; the command runs on in the container, its output is dropped.
      return { ok: false, reason: `${showCommand(command)} did not finish within ${seconds(limits.timeoutMs)} in ${service}` };
    case 'aborted':
      return { ok: false, reason: CANCELLED };
    case 'failed':
      if (settled.error instanceof EnvironmentError) throw settled.error;
      return { ok: false, reason: await explainExecFailure(ctx, service, id, command, settled.error) };
  }
}

/** Why an exec could not run: most often the container is no longer running. */
async function explainExecFailure(ctx: CheckContext, service: string, id: string, command: string[], error: unknown): Promise<string> {
  const couldNot = `could not run ${showCommand(command)} in ${service}: ${excerpt(messageOf(error), 160)}`;
  const inspected = await settleWithin(ctx.engine.inspectContainer(id), INSPECT_TIMEOUT_MS, ctx.signal);
  if (inspected.state === 'failed') {
    if (inspected.error instanceof EnvironmentError) throw inspected.error;
    if (/no such container/i.test(messageOf(inspected.error))) return `${service} has no running container (${id.slice(0, 12)} is gone)`;
  }
  if (inspected.state !== 'done') return couldNot;
  const status = inspected.value;
  if (status.state === 'running') return couldNot;
  const exited = status.state === 'exited' ? `, exit code ${status.exitCode}${status.oomKilled ? ', killed for lack of memory' : ''}` : '';
  return `${service} is not running (its container is ${status.state}${exited})`;
}

/** `host:port`, with brackets for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A published address to connect to: the unspecified address (all interfaces) is reached on loopback. */
export function reachableHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export type Probe = { ok: true; detail: string } | { ok: false; reason: string };

/** Opens a TCP connection and keeps it for CONNECTION_SETTLE_MS: refused, silent, or closed at once all fail. */
export function connectTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Probe> {
  const where = formatHostPort(host, port);
  return new Promise((resolve) => {
    let finished = false;
    let settleTimer: NodeJS.Timeout | undefined;
    const socket = createConnection({ host, port });
    const finish = (probe: Probe) => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      clearTimeout(settleTimer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(probe);
    };
    const onAbort = () => finish({ ok: false, reason: CANCELLED });
    const connectTimer = setTimeout(() => finish({ ok: false, reason: `${where} did not accept a connection within ${seconds(timeoutMs)}` }), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      const accepted: Probe = { ok: true, detail: `${where} accepts connections` };
      settleTimer = setTimeout(() => finish(accepted), CONNECTION_SETTLE_MS);
      socket.once('data', () => finish(accepted));
      const closed = () => finish({ ok: false, reason: `${where} accepted the connection and closed it at once (nothing answers behind the published port)` });
      socket.once('end', closed);
      socket.once('close', closed);
    });
    socket.once('error', (error) => finish({ ok: false, reason: describeSocketError(where, error) }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describeSocketError(where: string, error: Error): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ECONNREFUSED':
      return `${where} refused the connection`;
    case 'ECONNRESET':
      return `${where} reset the connection`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable`;
    default:
      return `could not connect to ${where}: ${excerpt(error.message, 120)}`;
  }
}

export type HttpOutcome = { ok: true; status: number; body: string; truncated: boolean } | { ok: false; reason: string };

/** One GET without redirects, keep-alive or retries; the body is capped at `maxBytes`. */
export function httpGet(url: URL, timeoutMs: number, signal: AbortSignal, maxBytes = MAX_READ_BYTES): Promise<HttpOutcome> {
  const where = url.host;
  const timeout = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve) => {
    let finished = false;
    const finish = (outcome: HttpOutcome) => {
      if (finished) return;
      finished = true;
      request.destroy();
      resolve(outcome);
    };
    const failure = (error: Error): HttpOutcome => {
      if (signal.aborted) return { ok: false, reason: CANCELLED };
      if (timeout.aborted) return { ok: false, reason: `${where} gave no complete answer within ${seconds(timeoutMs)}` };
      if (/socket hang up/i.test(error.message)) return { ok: false, reason: `${where} closed the connection without answering` };
      return { ok: false, reason: describeSocketError(where, error) };
    };
    const request = httpRequest(url, { method: 'GET', agent: false, signal: AbortSignal.any([signal, timeout]), headers: { 'user-agent': 'envctl-checks', accept: '*/*' } }, (response) => {
      const body = new CappedBuffer(maxBytes);
      const answer = (): HttpOutcome => ({ ok: true, status: response.statusCode ?? 0, body: body.text(), truncated: body.truncated });
      response.on('data', (chunk: Buffer) => {
        body.append(chunk);
        if (body.truncated) finish(answer());
      });
      response.once('end', () => finish(answer()));
      response.once('error', (error) => finish(failure(error)));
      response.once('close', () => {
        if (!response.complete) finish({ ok: false, reason: `${where} cut the answer off` });
      });
    });
    request.once('error', (error) => finish(failure(error)));
    request.end();
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
