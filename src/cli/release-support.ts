/**
 * What the `release` commands share: how notices reach the terminal (one sanitised line each on
 * stderr; nothing in --json mode), the gate's question on a TTY, and the outcome's exit code.
 */
import { createInterface } from 'node:readline/promises';
import { userInfo } from 'node:os';
import type { ReleaseNotice, ReleaseOutcome } from '../release/controller.js';
import { sanitizeLine } from '../ui/sanitize.js';
import type { OutputMode } from './base-command.js';

export function noticePrinter(mode: OutputMode): (notice: ReleaseNotice) => void {
  if (mode === 'json') return () => undefined;
  return (notice) => {
    const stamp = new Date().toISOString().slice(11, 19);
    process.stderr.write(`${stamp} ${notice.release ? `${notice.release} ` : ''}${sanitizeLine(notice.message)}\n`);
  };
}

/** A y/N question on the terminal, for a gate; undefined without a TTY (the release then waits with exit 4). */
export function terminalConfirm(mode: OutputMode): ((question: string, signal: AbortSignal) => Promise<boolean>) | undefined {
  if (mode !== 'tty' || !process.stdin.isTTY) return undefined;
  return async (question, signal) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${sanitizeLine(question)} [y/N] `, { signal });
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
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
