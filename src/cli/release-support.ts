/**
 * What the `release` commands share: how notices reach the terminal (the live view on a TTY, one
 * sanitised line each without one, nothing in --json mode), the gate's question, the result line.
 */
import { userInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ReleaseNotice, ReleaseOutcome } from '../release/controller.js';
import { createReleaseRenderer } from '../ui/render-progress.js';
import { plainReleaseLines } from '../ui/release-store.js';
import { sanitizeLine } from '../ui/sanitize.js';
import type { OutputMode } from './base-command.js';
import { cancelOnSignals } from './cancellation.js';

export interface ReleaseOutput {
  notify(notice: ReleaseNotice): void;
  /** Asks at a gate; undefined without a terminal (the release then waits with exit 4). */
  confirm: ((question: string, signal: AbortSignal) => Promise<boolean>) | undefined;
  /** The closing line (live view), then stops drawing. */
  finish(outcome: ReleaseOutcome | undefined): Promise<void>;
}

/** Progress on stderr: the live view on a terminal, one line per notice without one, nothing for --json. */
export function releaseOutput(mode: OutputMode): ReleaseOutput {
  const renderer = createReleaseRenderer(mode, { stderr: process.stderr });
  const at = () => performance.now();
  const interactive = mode === 'tty' && Boolean(process.stdin.isTTY);
  return {
    notify: (notice) => renderer.sink({ type: 'notice', at: at(), notice }),
    confirm: interactive
      ? (question, signal) =>
          new Promise<boolean>((resolve, reject) => {
            const settle = () => renderer.sink({ type: 'answered', at: at() });
            const onAbort = () => {
              settle();
              reject(signal.reason);
            };
            signal.addEventListener('abort', onAbort, { once: true });
            renderer.sink({
              type: 'ask',
              at: at(),
              question,
              answer: (yes) => {
                signal.removeEventListener('abort', onAbort);
                settle();
                resolve(yes);
              },
            });
          })
      : undefined,
    finish: async (outcome) => {
      if (outcome) renderer.sink({ type: 'done', at: at(), ok: outcome.exitCode === 0, cancelled: outcome.exitCode === 130, summary: `${outcome.id} ${outcome.message}` });
      await renderer.close();
    },
  };
}

/** What a controller run needs from the terminal side: where notices go, the gate's question, Ctrl-C. */
export interface ControllerIo {
  notify: (notice: ReleaseNotice) => void;
  confirm: ReleaseOutput['confirm'];
  signal: AbortSignal;
}

/**
 * Runs a release controller (start, resume, approve, abort) with the live view or plain lines,
 * Ctrl-C as cancellation (the proxy keeps its weights), then prints the result line and sets the
 * exit code; returns the `--json` document.
 */
export async function driveRelease(mode: OutputMode, run: (io: ControllerIo) => Promise<ReleaseOutcome>): Promise<Record<string, unknown>> {
  const output = releaseOutput(mode);
  const cancellation = cancelOnSignals(() =>
    output.notify({ release: '', event: 'warning', message: 'stopping the controller: the proxy keeps the current weights (press Ctrl-C again to force)', step: 0, weights: { canary: 0, baseline: 0, prod: 100 } }),
  );
  let outcome: ReleaseOutcome | undefined;
  try {
    outcome = await run({ notify: output.notify, confirm: output.confirm, signal: cancellation.signal });
  } finally {
    cancellation.dispose();
    await output.finish(outcome);
  }
  printOutcome(mode, outcome);
  process.exitCode = outcome.exitCode;
  return outcomeJson(outcome);
}

/** One sanitised line per notice on stderr (nothing for --json): for the short commands (rollback, gc). */
export function noticePrinter(mode: OutputMode): (notice: ReleaseNotice) => void {
  if (mode === 'json') return () => undefined;
  return (notice) => {
    for (const line of plainReleaseLines({ type: 'notice', at: 0, notice })) process.stderr.write(`${line}\n`);
  };
}

export function actorName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** The result line on stdout (for people); `--json` returns the outcome instead. */
export function printOutcome(mode: OutputMode, outcome: ReleaseOutcome): void {
  if (mode === 'json') return;
  const url = outcome.proxyPort === undefined ? '' : ` · proxy http://127.0.0.1:${outcome.proxyPort}`;
  process.stdout.write(`release ${outcome.id} ${sanitizeLine(outcome.message)}${url}\n`);
}

/** The JSON form of an outcome: the last verdict in full, the earlier ones as actions. */
export function outcomeJson(outcome: ReleaseOutcome): Record<string, unknown> {
  return {
    id: outcome.id,
    status: outcome.status,
    exitCode: outcome.exitCode,
    message: outcome.message,
    proxyPort: outcome.proxyPort ?? null,
    verdict: outcome.verdicts.at(-1) ?? null,
  };
}
