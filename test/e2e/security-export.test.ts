/**
 * `envctl export` as a user runs it: a definition obtained from elsewhere does not get its own
 * `x-envctl-allow-paths` honoured (reading a key outside its folder into a Secret) until trusted,
 * and `--json` never prints Secret values.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';

let root: string;
let project: string;
let env: Record<string, string>;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-secexp-'));
  project = join(root, 'proj');
  await mkdir(join(root, 'outside'), { recursive: true });
  await mkdir(project);
  await writeFile(join(root, 'outside', 'id_rsa'), 'PLANTED-PRIVATE-KEY\n');
  await execa('git', ['init', '-q', project]);
  await execa('git', ['-C', project, 'remote', 'add', 'origin', 'https://git.example.invalid/someone/shop.git']);
  // Not CI (CI assumes trust), a private trust store.
  env = { CI: '', ENVCTL_TRUST_FILE: join(root, 'trust.json') };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('export and in-file allowances', () => {
  it('refuses x-envctl-allow-paths from an untrusted clone (exit 2), and honours it once trusted', async () => {
    await writeFile(join(project, 'envctl.yaml'), 'name: secexp\nx-envctl-allow-paths: ["../outside"]\nsecrets:\n  k: { file: ../outside/id_rsa }\nservices:\n  web: { image: envctl/base-debian:12, secrets: [k] }\n');
    for (const args of [['export', 'kubernetes'], ['export', 'compose']]) {
      const refused = await envctl(args, { cwd: project, env });
      expect(refused.exitCode, `${args.join(' ')}: ${String(refused.stderr)}`).toBe(2);
      expect(String(refused.stderr)).toContain('is not trusted');
      expect(String(refused.stdout)).not.toContain('PLANTED-PRIVATE-KEY');
    }
    expect((await envctl(['trust', '--yes'], { cwd: project, env })).exitCode).toBe(0);
    const exported = await envctl(['export', 'kubernetes'], { cwd: project, env });
    expect(exported.exitCode, String(exported.stderr)).toBe(0);
  });

  it('--json never carries Secret values, with or without --out', async () => {
    await writeFile(join(project, 'envctl.yaml'), 'name: secexp\nservices:\n  web: { image: nginx:1, environment: { API_TOKEN: "planted-t0ken-value" } }\n');
    for (const extra of [[], ['--out', join(root, 'k8s')]]) {
      const run = await envctl(['export', 'kubernetes', '--json', ...extra], { cwd: project, env });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(String(run.stdout)).not.toContain('planted-t0ken-value');
      expect(String(run.stdout)).toContain('<redacted>');
    }
  });
});
