/**
 * Starts the reaper (engine/reaper-process.ts) for one environment and hands back its pipe. The
 * reaper is a small Node process of its own, spawned detached (its own session, so a Ctrl-C or a
 * kill of the test's process group does not reach it), holding the read end of a pipe whose write
 * end only this process has. Whatever ends this process, SIGKILL included, closes the pipe, and the
 * reaper removes everything carrying the environment's labels. A Node process rather than a
 * container like Ryuk: no image to build or pull, it starts in a fraction of a second, and it uses
 * the same engine endpoint as the caller.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolveDockerEndpoint } from '../engine/docker-engine.js';
import { EnvironmentError } from '../errors.js';

export interface ReaperHandle {
  pid: number;
  /** Closes the pipe: the reaper sweeps once more (finding nothing after a clean stop) and exits. */
  release(): void;
}

/** How long the reaper may take to start and reach the engine (ms). */
const READY_TIMEOUT_MS = 15_000;

/** The reaper script beside this module: compiled `.js` in dist, the `.ts` source under the project's own tests. */
export function reaperScript(): string {
  const compiled = fileURLToPath(new URL('../engine/reaper-process.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  const source = fileURLToPath(new URL('../engine/reaper-process.ts', import.meta.url));
  if (existsSync(source)) return source;
  throw new EnvironmentError('REAPER_MISSING', `the reaper script is missing (${compiled})`, 'run `npm run build` in the envctl folder, or set ENVCTL_REAPER_DISABLED=true');
}

/**
 * Spawns the reaper and waits until it watches `labels`. `ENVCTL_REAPER_LOG` names a file the
 * reaper appends its actions to (default: discarded).
 */
export async function startReaper(options: { labels: Record<string, string>; keepVolumes: boolean; processEnv: Readonly<Record<string, string | undefined>> }): Promise<ReaperHandle> {
  const endpoint = resolveDockerEndpoint(options.processEnv);
  // PEM buffers travel as text in the JSON line.
  const endpointOptions = Object.fromEntries(Object.entries(endpoint.options).map(([key, value]) => [key, Buffer.isBuffer(value) ? value.toString('utf8') : value]));
  const script = reaperScript();
  const logFile = options.processEnv.ENVCTL_REAPER_LOG;
  const stderr = logFile ? openSync(logFile, 'a') : 'ignore';
  // The `.ts` source (the project's own tests) runs under Node's type stripping.
  const nodeFlags = script.endsWith('.ts') ? ['--experimental-strip-types', '--no-warnings'] : [];
  const child = spawn(process.execPath, [...nodeFlags, script], {
    detached: true,
    stdio: ['pipe', 'pipe', stderr],
    env: { ...options.processEnv, NODE_OPTIONS: '' },
  });
  if (typeof stderr === 'number') closeSync(stderr);
  const stdin = child.stdin!;
  const stdout = child.stdout!;
  // A reaper that died early must not crash the caller with EPIPE: its answer (or its exit) says why.
  stdin.on('error', () => undefined);
  stdin.write(`${JSON.stringify({ endpoint: endpointOptions, labels: options.labels, keepVolumes: options.keepVolumes })}\n`);

  const answer = await new Promise<string>((resolve) => {
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(() => resolve(`error no answer within ${READY_TIMEOUT_MS / 1000}s`), READY_TIMEOUT_MS);
    const finish = (value: string) => {
      clearTimeout(timer);
      lines.close();
      resolve(value);
    };
    lines.once('line', finish);
    child.once('error', (error) => finish(`error ${error.message}`));
    child.once('exit', (code, signal) => finish(`error exited (${signal ?? code}) before it was ready`));
  });
  if (answer !== 'ready') {
    child.kill('SIGKILL');
    throw new EnvironmentError('REAPER_FAILED', `the reaper did not start: ${answer.replace(/^error /, '')}`, 'check that the Docker engine answers (`envctl doctor`); ENVCTL_REAPER_LOG=FILE keeps its log; ENVCTL_REAPER_DISABLED=true runs without it');
  }
  // From here on the reaper must not keep this process alive, and this process must not wait for it.
  stdout.destroy();
  child.removeAllListeners('exit');
  child.unref();
  (stdin as unknown as Socket).unref();
  let released = false;
  return {
    pid: child.pid!,
    release: () => {
      if (released) return;
      released = true;
      stdin.end();
    },
  };
}
