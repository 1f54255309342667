/**
 * Runs a stage's declared command: on the host (argv, never a shell) or inside a service's image
 * on the environment's network. Output is streamed line by line; the tail is kept for reports.
 */
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { Engine } from '../engine/engine.js';
import type { ContainerSpec } from '../engine/types.js';

export interface CommandOutcome {
  exitCode: number;
  /** Set when the command did not finish by itself (timeout, cancel, could not start). */
  problem: string | undefined;
  outputTail: string[];
}

/** Lines of output kept for reports and failure messages. */
export const OUTPUT_TAIL_LINES = 40;

function tailKeeper(onLine: (line: string) => void): { push: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    push: (line) => {
      lines.push(line);
      if (lines.length > OUTPUT_TAIL_LINES) lines.shift();
      onLine(line);
    },
  };
}

export async function runOnHost(options: { command: readonly string[]; cwd: string; env: Record<string, string>; timeoutMs: number | undefined; signal: AbortSignal; onLine: (line: string) => void }): Promise<CommandOutcome> {
  const tail = tailKeeper(options.onLine);
  const [file, ...args] = options.command as [string, ...string[]];
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    shell: false,
    all: true,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5_000,
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });
  if (subprocess.all) for await (const line of createInterface({ input: subprocess.all, crlfDelay: Infinity })) tail.push(line);
  const result = await subprocess;
  const problem = result.timedOut
    ? `timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`
    : result.isCanceled
      ? 'cancelled'
      : result.failed && result.exitCode === undefined
        ? (result.originalMessage ?? result.shortMessage)
        : undefined;
  return { exitCode: result.exitCode ?? -1, problem, outputTail: tail.lines };
}

/** Runs the command in a throwaway container of `image`, on `network` (service names resolve), then removes it. */
export async function runInImage(options: {
  engine: Engine;
  image: string;
  command: readonly string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  namePrefix: string;
  network: string | undefined;
  timeoutMs: number | undefined;
  signal: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  onLine: (line: string) => void;
}): Promise<CommandOutcome> {
  const { engine } = options;
  const tail = tailKeeper(options.onLine);
  const spec: ContainerSpec = {
    name: `${options.namePrefix}-${randomBytes(3).toString('hex')}`,
    image: options.image,
    command: [...options.command],
    entrypoint: undefined,
    env: options.env,
    labels: options.labels,
    ports: [],
    expose: [],
    mounts: [],
    networks: options.network ? [{ name: options.network, aliases: [] }] : [],
    healthcheck: { disabled: true },
    restart: 'no',
    workingDir: undefined,
    user: undefined,
    init: true,
    stopSignal: undefined,
    stopTimeoutSeconds: 5,
  };
  const id = await engine.createContainer(spec);
  try {
    const follow = new AbortController();
    const onAbort = () => follow.abort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    await engine.startContainer(id);
    const streaming = (async () => {
      for await (const line of engine.followLogs(id, {}, follow.signal)) tail.push(line.text);
    })().catch(() => undefined);
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : options.now() + options.timeoutMs;
    let problem: string | undefined;
    for (;;) {
      const status = await engine.inspectContainer(id);
      if (status.state === 'exited' || status.state === 'dead') {
        await streaming;
        options.signal.removeEventListener('abort', onAbort);
        return { exitCode: status.exitCode, problem: undefined, outputTail: tail.lines };
      }
      if (options.signal.aborted) problem = 'cancelled';
      else if (options.now() >= deadline) problem = `timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)}s`;
      if (problem) {
        await engine.stopContainer(id, 5);
        follow.abort();
        await streaming;
        options.signal.removeEventListener('abort', onAbort);
        return { exitCode: -1, problem, outputTail: tail.lines };
      }
      await options.sleep(250, options.signal);
    }
  } finally {
    await engine.removeContainer(id);
  }
}
