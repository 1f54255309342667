/**
 * Host commands from a definition (reliability.md bad inputs 37 and 38): a definition obtained from
 * elsewhere (here: a git clone) runs nothing on the host until `envctl trust` has shown its commands;
 * a change to them needs trusting again; commands are argv arrays, never a shell, so injection
 * strings reach the program literally.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { BASE_IMAGE, envctlIn, faultProject, labelledOf, removeProject, tempDir } from './support.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

let folder: Awaited<ReturnType<typeof tempDir>>;
let project: string;
/** Not CI (CI assumes trust), a private trust store. */
let env: Record<string, string>;

beforeEach(async () => {
  folder = await tempDir('trust');
  project = faultProject('trust');
  env = { CI: '', ENVCTL_TRUST_FILE: join(folder.dir, 'config', 'trust.json') };
});
afterEach(async () => {
  await removeProject(project);
  await folder.remove();
});

const exists = (path: string) => access(path).then(
  () => true,
  () => false,
);

/** A project folder that is a git clone (it has a remote): a definition obtained from elsewhere. */
async function clonedProject(pipeline: string, extra = ''): Promise<string> {
  const dir = join(folder.dir, 'clone');
  await mkdir(dir, { recursive: true });
  await execa('git', ['init', '-q', dir]);
  await execa('git', ['-C', dir, 'remote', 'add', 'origin', 'https://git.example.invalid/someone/shop.git']);
  await writeFile(join(dir, 'envctl.yaml'), `name: ${project}\n${extra}services:\n  app: { image: ${BASE_IMAGE}, command: ["sleep", "3600"] }\npipeline:\n${pipeline}`);
  return dir;
}

/** A build command that proves it ran by writing a marker file next to the definition. */
const MARK = (name: string) => `  build: { run: ["node", "-e", "require('fs').writeFileSync('${name}', 'ran')"] }\n`;

describe('a definition obtained from elsewhere', () => {
  it('runs no host command until trusted, shows the commands first, and needs trusting again after a change', async () => {
    const dir = await clonedProject(MARK('ran-1'));

    const refused = await envctlIn(dir, ['pipeline', '--only', 'build'], env);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('is not trusted (it is in a git clone of https://git.example.invalid/someone/shop.git)');
    expect(refused.stderr).toMatch(/pipeline\.build\.run: node -e .*writeFileSync.*ran-1/);
    expect(refused.stderr).toContain('envctl trust -f envctl.yaml');
    expect(await exists(join(dir, 'ran-1'))).toBe(false);
    expect(await exists(join(dir, '.envctl', 'runs')), 'no run record: nothing started').toBe(false);

    const shown = await envctlIn(dir, ['trust', '--show', '--json'], env);
    expect(shown.exitCode, String(shown.stderr)).toBe(0);
    const show = JSON.parse(String(shown.stdout)) as { required: boolean; environments: Array<{ env: string; hash: string; commands: string[]; trusted: boolean }> };
    expect(show.required).toBe(true);
    expect(show.environments).toEqual([{ env: 'default', hash: expect.stringMatching(/^sha256:/), commands: [expect.stringContaining('pipeline.build.run: node -e')], trusted: false }]);

    // Without a terminal, trusting needs --yes.
    const unconfirmed = await envctlIn(dir, ['trust'], env);
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');
    expect(unconfirmed.stdout).toContain('pipeline.build.run: node -e');
    expect(await exists(env.ENVCTL_TRUST_FILE!)).toBe(false);

    const trusted = await envctlIn(dir, ['trust', '--yes'], env);
    expect(trusted.exitCode, String(trusted.stderr)).toBe(0);
    const store = JSON.parse(await readFile(env.ENVCTL_TRUST_FILE!, 'utf8')) as { trusted: Array<{ file: string; hash: string }> };
    expect(store.trusted).toEqual([expect.objectContaining({ file: join(dir, 'envctl.yaml'), hash: show.environments[0]!.hash })]);

    const ran = await envctlIn(dir, ['pipeline', '--only', 'build'], env);
    expect(ran.exitCode, String(ran.stderr)).toBe(0);
    expect(await readFile(join(dir, 'ran-1'), 'utf8')).toBe('ran');

    // Someone changes the command (a pull): refused again until re-trusted.
    await writeFile(join(dir, 'envctl.yaml'), (await readFile(join(dir, 'envctl.yaml'), 'utf8')).replace('ran-1', 'ran-2'));
    const changed = await envctlIn(dir, ['pipeline', '--only', 'build'], env);
    expect(changed.exitCode).toBe(2);
    expect(changed.stderr).toContain('ran-2');
    expect(await exists(join(dir, 'ran-2'))).toBe(false);

    // Revoking forgets the file.
    const revoked = await envctlIn(dir, ['trust', '--revoke'], env);
    expect(revoked.exitCode, String(revoked.stderr)).toBe(0);
    expect((JSON.parse(await readFile(env.ENVCTL_TRUST_FILE!, 'utf8')) as { trusted: unknown[] }).trusted).toEqual([]);
  });

  it('gates the notify command as well as stage commands', async () => {
    const dir = await clonedProject(`  notify: { command: ["node", "-e", "require('fs').writeFileSync('notified', 'x')"] }\n`);
    const refused = await envctlIn(dir, ['pipeline', '--only', 'build'], env);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('pipeline.notify.command');
    expect(await exists(join(dir, 'notified'))).toBe(false);
  });

  it('gates host paths outside the folder: up creates nothing until trusted', async () => {
    await mkdir(join(folder.dir, 'shared'));
    const dir = await clonedProject('  build: { service: app, run: ["true"] }\n', 'x-envctl-allow-paths: [../shared]\n');
    await writeFile(join(dir, 'envctl.yaml'), (await readFile(join(dir, 'envctl.yaml'), 'utf8')).replace('command: ["sleep", "3600"]', 'command: ["sleep", "3600"], volumes: ["../shared:/shared:ro"]'));
    const refused = await envctlIn(dir, ['up', '--wait-timeout', '30s'], env);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`host path outside the project: ${join(folder.dir, 'shared')}`);
    expect(await labelledOf(project)).toEqual([]);
    expect((await envctlIn(dir, ['trust', '--yes'], env)).exitCode).toBe(0);
    const up = await envctlIn(dir, ['up', '--wait-timeout', '30s'], env);
    expect(up.exitCode, String(up.stderr)).toBe(0);
  });

  it('is refused everywhere with ENVCTL_REQUIRE_TRUST=1, even outside git and in CI', async () => {
    await writeFile(join(folder.dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app: { image: ${BASE_IMAGE} }\npipeline:\n${MARK('ran')}`);
    const refused = await envctlIn(folder.dir, ['pipeline', '--only', 'build'], { ...env, CI: 'true', ENVCTL_REQUIRE_TRUST: '1' });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('ENVCTL_REQUIRE_TRUST is set');
    expect(await exists(join(folder.dir, 'ran'))).toBe(false);
    // The same file, your own and outside a clone, runs without asking.
    const own = await envctlIn(folder.dir, ['pipeline', '--only', 'build'], env);
    expect(own.exitCode, String(own.stderr)).toBe(0);
    expect(await exists(join(folder.dir, 'ran'))).toBe(true);
  });
});

describe('envctl trust on a real terminal (tmux)', () => {
  it.skipIf(!hasTmux)('shows the commands and asks; no keeps it untrusted (exit 1), yes trusts it', async () => {
    const dir = await clonedProject(MARK('ran-tty'));
    const server = `envctl-sec-${project}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
    const screen = (): string => tmux('capture-pane', '-p', '-t', 't');
    const until = async (check: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const ask = async (answer: string, exitFile: string): Promise<string> => {
      // A real terminal, not CI; the private trust store.
      const command = `cd '${dir}' && env -u CI ENVCTL_TRUST_FILE='${env.ENVCTL_TRUST_FILE}' NO_COLOR=1 '${process.execPath}' '${BIN}' trust; echo "EXIT=$?" > '${exitFile}'; sleep 60`;
      tmux('new-session', '-d', '-s', 't', '-x', '160', '-y', '30', command);
      try {
        await until(() => screen().includes('[y/N]'), 'the question');
        const shown = screen();
        tmux('send-keys', '-t', 't', '-l', answer);
        tmux('send-keys', '-t', 't', 'Enter');
        await until(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').includes('EXIT='), 'trust to end');
        return `${shown}\n${readFileSync(exitFile, 'utf8')}`;
      } finally {
        spawnSync('tmux', ['-L', server, 'kill-server']);
      }
    };
    const declined = await ask('n', join(folder.dir, 'exit-no'));
    expect(declined).toMatch(/pipeline\.build\.run: node -e .*ran-tty/);
    expect(declined).toContain('EXIT=1');
    expect((await envctlIn(dir, ['pipeline', '--only', 'build'], env)).exitCode).toBe(2);
    const accepted = await ask('y', join(folder.dir, 'exit-yes'));
    expect(accepted).toContain('EXIT=0');
    const ran = await envctlIn(dir, ['pipeline', '--only', 'build'], env);
    expect(ran.exitCode, String(ran.stderr)).toBe(0);
    expect(await readFile(join(dir, 'ran-tty'), 'utf8')).toBe('ran');
  });
});

describe('host commands are argument arrays, never a shell', () => {
  it('passes injection strings to the program literally (nothing is created)', async () => {
    const pwned = join(folder.dir, 'pwned');
    // `$$` is the definition's escape for a literal `$` (interpolation); what reaches argv is `$(touch …)`.
    const argvFile = join(folder.dir, 'argv.json');
    const yaml = `name: ${project}
services:
  app: { image: ${BASE_IMAGE} }
pipeline:
  build:
    run: ["node", "-e", "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))", "${argvFile}", "$$(touch ${pwned}-1)", "; touch ${pwned}-2", "\`touch ${pwned}-3\`", "--", "--version", "| touch ${pwned}-4", "&& touch ${pwned}-5"]
`;
    await writeFile(join(folder.dir, 'envctl.yaml'), yaml);
    const ran = await envctlIn(folder.dir, ['pipeline', '--only', 'build'], env);
    expect(ran.exitCode, String(ran.stderr)).toBe(0);
    expect(JSON.parse(await readFile(argvFile, 'utf8'))).toEqual([`$(touch ${pwned}-1)`, `; touch ${pwned}-2`, `\`touch ${pwned}-3\``, '--', '--version', `| touch ${pwned}-4`, `&& touch ${pwned}-5`]);
    for (const index of [1, 2, 3, 4, 5]) expect(await exists(`${pwned}-${index}`), `${pwned}-${index}`).toBe(false);
  });

  it('refuses shell syntax in a one-string command instead of running it through a shell (exit 2)', async () => {
    const pwned = join(folder.dir, 'pwned-string');
    await writeFile(join(folder.dir, 'envctl.yaml'), `name: ${project}\nservices:\n  app: { image: ${BASE_IMAGE} }\npipeline:\n  build: { run: "node --version; touch ${pwned}" }\n`);
    const refused = await envctlIn(folder.dir, ['pipeline', '--only', 'build'], env);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('commands are not run through a shell');
    expect(refused.stderr).toContain('["sh", "-c", "a && b"]');
    expect(await exists(pwned)).toBe(false);
  });
});
