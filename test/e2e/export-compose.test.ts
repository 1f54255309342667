/**
 * `envctl export compose` as a user runs it, checked by Compose itself: Debian's docker-compose
 * must accept the exported demo (`config -q` parses and validates without contacting Docker).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';

const DEMO = fileURLToPath(new URL('../../environments/demo/envctl.yaml', import.meta.url));
const dockerCompose = findDockerCompose();

function findDockerCompose(): string | undefined {
  try {
    return execFileSync('which', ['docker-compose'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-export-e2e-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('envctl export compose (built CLI)', () => {
  it('writes to -o FILE, and refuses to replace it without --force (exit 2)', async () => {
    const first = await envctl(['export', 'compose', '-f', DEMO, '--env', 'local', '-o', 'compose.yaml'], { cwd: dir });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe('');
    const written = await readFile(join(dir, 'compose.yaml'), 'utf8');
    expect(written).toContain('LOG_LEVEL: debug');

    await writeFile(join(dir, 'compose.yaml'), 'keep me\n');
    const refused = await envctl(['export', 'compose', '-f', DEMO, '-o', 'compose.yaml'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('already exists');
    expect(await readFile(join(dir, 'compose.yaml'), 'utf8')).toBe('keep me\n');

    const forced = await envctl(['export', 'compose', '-f', DEMO, '--env', 'local', '-o', 'compose.yaml', '--force'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(await readFile(join(dir, 'compose.yaml'), 'utf8')).toBe(written);
  });

  it.skipIf(dockerCompose === undefined)('is accepted by docker-compose config -q', async () => {
    const result = await envctl(['export', 'compose', '-f', DEMO], { cwd: dir });
    expect(result.exitCode).toBe(0);
    await writeFile(join(dir, 'compose.yaml'), String(result.stdout));
    const config = await execa(dockerCompose!, ['-f', join(dir, 'compose.yaml'), 'config', '-q'], { cwd: dir, reject: false });
    expect(config.stderr).toBe('');
    expect(config.exitCode).toBe(0);
  });
});

if (dockerCompose === undefined) {
  console.warn('export-compose: docker-compose is not on PATH: the check that Compose accepts the exported file is skipped (`npm run setup` installs Debian\'s docker-compose as root)');
}
