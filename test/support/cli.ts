/** Runs the built CLI the way a user does (`npm run build` first; `npm test` does it). */
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

export async function envctl(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<Result> {
  return execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { CI: 'true', NO_COLOR: '1', ...options.env },
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
}
