/**
 * Security review, against the real engine and a real terminal:
 * - a symlink that one container plants through its bind mount of the project folder, after the
 *   definition was checked, is not followed by another service's bind mount (re-checked at create);
 * - Ctrl-C at the `envctl trust` question cancels cleanly (exit 130, no stack trace).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { BASE_IMAGE, containersOf, docker, envctlIn, faultProject, removeProject, tempDir } from './support.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

let folder: Awaited<ReturnType<typeof tempDir>>;
let project: string;
beforeEach(async () => {
  folder = await tempDir('secrev');
  project = faultProject('secrev');
});
afterEach(async () => {
  await removeProject(project);
  await folder.remove();
});

describe('a symlink planted by a container after load', () => {
  it('is refused when another service bind-mounts it (nothing mounts /etc)', async () => {
    // a writes x -> /etc into the project folder, then reports healthy; b (after a) mounts ./x.
    await writeFile(
      join(folder.dir, 'envctl.yaml'),
      `name: ${project}
services:
  a:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "ln -s /etc /w/x && exec sleep 3600"]
    volumes: [".:/w"]
    healthcheck: { test: ["CMD", "test", "-L", "/w/x"], interval: 1s, retries: 30 }
  b:
    image: ${BASE_IMAGE}
    command: ["sleep", "3600"]
    volumes: ["./x:/data:ro"]
    depends_on: { a: { condition: service_healthy } }
`,
    );
    const up = await envctlIn(folder.dir, ['up', '--wait-timeout', '60s'], {}, 120_000);
    expect(up.exitCode, String(up.stderr)).not.toBe(0);
    expect(String(up.stderr)).toContain('now resolves to /etc');
    for (const seen of await containersOf(project)) {
      const inspect = await docker.getContainer(seen.name).inspect();
      expect(inspect.Mounts.map((mount) => mount.Source)).not.toContain('/etc');
    }
  });
});

describe('Ctrl-C at the envctl trust question (tmux)', () => {
  it.skipIf(!hasTmux)('exits 130 with a one-line message, no internal error', async () => {
    const dir = join(folder.dir, 'clone');
    await mkdir(dir, { recursive: true });
    await execa('git', ['init', '-q', dir]);
    await execa('git', ['-C', dir, 'remote', 'add', 'origin', 'https://git.example.invalid/someone/shop.git']);
    await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app: { image: ${BASE_IMAGE} }\npipeline:\n  build: { run: ["npm", "test"] }\n`);
    const server = `envctl-secrev-${project}`;
    const exitFile = join(folder.dir, 'exit');
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
    const screen = (): string => tmux('capture-pane', '-p', '-t', 't');
    const until = async (check: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const command = `cd '${dir}' && env -u CI ENVCTL_TRUST_FILE='${join(folder.dir, 'trust.json')}' NO_COLOR=1 '${process.execPath}' '${BIN}' trust; echo "EXIT=$?" > '${exitFile}'; sleep 60`;
    tmux('new-session', '-d', '-s', 't', '-x', '160', '-y', '30', command);
    try {
      await until(() => screen().includes('[y/N]'), 'the question');
      tmux('send-keys', '-t', 't', 'C-c');
      await until(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').includes('EXIT='), 'trust to end');
      const shown = screen();
      expect(readFileSync(exitFile, 'utf8')).toContain('EXIT=130');
      expect(shown).toContain('trust cancelled');
      expect(shown).not.toMatch(/internal error|AbortError/);
      expect(existsSync(join(folder.dir, 'trust.json'))).toBe(false);
    } finally {
      spawnSync('tmux', ['-L', server, 'kill-server']);
    }
  });
});
