/** `envctl diff` through the built CLI: a report (exit 0 either way), JSON, and bad input (exit 2). No engine needed. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-diff-'));
  await writeFile(
    join(dir, 'envctl.yaml'),
    `
name: shop
services:
  web:
    image: shop/web:1
    environment: { LOG_LEVEL: info, DB_PASSWORD: base-secret }
environments:
  ci: {}
  local:
    services: { web: { environment: { LOG_LEVEL: debug, DB_PASSWORD: local-secret } } }
`,
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('envctl diff', () => {
  it('prints the differences (exit 0), or none (exit 0), and the same as JSON', async () => {
    const text = await envctl(['diff', 'default', 'local'], { cwd: dir, env: { DOCKER_HOST: `unix://${join(dir, 'none.sock')}` } });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toBe(
      [
        'diff for shop: default → local',
        '  web',
        '    environment  ~ LOG_LEVEL: info → debug',
        '    environment  ~ DB_PASSWORD: *** → *** (values hidden, they differ)',
        'summary: 1 service(s) differ',
      ].join('\n'),
    );
    const same = await envctl(['diff', 'ci', 'default'], { cwd: dir });
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toBe('diff for shop: ci → default\n  no differences');
    const json = await envctl(['diff', 'default', 'local', '--json'], { cwd: dir });
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(String(json.stdout))).toMatchObject({ project: 'shop', a: 'default', b: 'local', same: false, services: [{ service: 'web', changes: [{ field: 'environment', key: 'LOG_LEVEL', a: 'info', b: 'debug' }, { key: 'DB_PASSWORD', a: '***', b: '***', masked: true }] }] });
    expect(json.stdout).not.toContain('secret');
  });

  it('refuses an unknown environment or a missing one with exit 2, listing the environments', async () => {
    const unknown = await envctl(['diff', 'default', 'lokal'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('the definition has no environment "lokal"');
    expect(unknown.stderr).toContain('environments: default, ci, local (did you mean local?)');
    const missing = await envctl(['diff', 'local'], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('diff compares two environments: envctl diff ENV_A ENV_B');
  });
});
