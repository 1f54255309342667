/**
 * `--help` of the built CLI: the exit-code table (design.md) ends the root help and every command's
 * help, and every command shows at least one example.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_TABLE } from '../../src/cli/help.js';
import { BIN, envctl } from '../support/cli.js';

const manifest = JSON.parse(await readFile(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as { commands: Record<string, { examples?: unknown[] }> };

function exitCodeSection(output: string): Array<[number, string]> {
  const section = output.split('\nEXIT CODES\n')[1];
  expect(section, 'an EXIT CODES section').toBeDefined();
  return [...section!.matchAll(/^ {2}(\d+) +(\S.*)$/gm)].map((match) => [Number(match[1]), match[2]!]);
}

/** Runs the CLI with the reading end of its stdout closed before it writes: each write fails with EPIPE. */
async function withStdoutClosed(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

describe('help', () => {
  it('ends the root help with the exit-code table', async () => {
    const result = await envctl(['--help']);
    expect(result.exitCode).toBe(0);
    expect(exitCodeSection(String(result.stdout)).map(([code]) => code)).toEqual(EXIT_CODE_TABLE.map(([code]) => code));
  });

  it.each(['up', 'release start', 'feature enable'])('ends `%s --help` with the exit-code table', async (command) => {
    const result = await envctl([...command.split(' '), '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('EXAMPLES');
    const rows = exitCodeSection(String(result.stdout));
    expect(rows.map(([code]) => code)).toEqual(EXIT_CODE_TABLE.map(([code]) => code));
    // Long meanings wrap onto the next line: the first line starts the table's text.
    rows.forEach(([, shown], index) => expect(EXIT_CODE_TABLE[index]![1].startsWith(shown)).toBe(true));
  });

  it('answers --version with the line oclif prints (the fast path in bin/run.js skips loading oclif)', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    const fast = await envctl(['--version']);
    expect(fast.exitCode).toBe(0);
    expect(String(fast.stdout)).toBe(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`);
    // With another flag the argv no longer matches the fast path: oclif answers, with the same line.
    const viaOclif = await envctl(['--version', '--json']);
    expect(String(viaOclif.stdout)).toBe(String(fast.stdout));
  });

  it('stops with 141 (128 + SIGPIPE) and no Node warning when the reader of its output goes away (`| head`)', async () => {
    const { code, stderr } = await withStdoutClosed(['up', '--help']);
    expect(stderr).not.toMatch(/unsettled|EPIPE|Error/);
    expect(code).toBe(141);
  });

  it('keeps the status a command already set when its output pipe is gone', async () => {
    const { code, stderr } = await withStdoutClosed(['validate', '--file', '/nonexistent/envctl.yaml']);
    expect(stderr).toContain('cannot read the definition');
    expect(code).toBe(2);
  });

  it('gives every command an example', () => {
    const missing = Object.entries(manifest.commands).filter(([, command]) => (command.examples ?? []).length === 0).map(([id]) => id);
    expect(missing).toEqual([]);
  });
});
