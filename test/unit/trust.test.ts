/**
 * The trust gate's parts: what counts as a host command, the hash that keys trust, when trust is
 * required (paranoid flag, CI, owner, git clone), and the store (atomic, 0600, damage detected).
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../src/definition/resolve.js';
import {
  assertTrusted,
  capabilitiesHash,
  gitRemote,
  hostCapabilities,
  readTrustStore,
  trustRequirement,
  withTrust,
  writeTrustStore,
} from '../../src/state/trust.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-trust-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PIPELINE = `services:
  app: { image: app }
pipeline:
  build: { run: ["npm", "test"] }
  integration: { service: app, run: ["npm", "run", "it"] }
  notify: { command: ["./notify.sh", "--channel", "ops"] }
`;

async function model(yaml: string) {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, processEnv: {} });
}

describe('host capabilities', () => {
  it('lists host commands (not the ones that run in a service image) and outside paths', async () => {
    await mkdir(join(dir, '..', `${dir.split('/').at(-1)}-shared`), { recursive: true });
    const capabilities = hostCapabilities(await model(`x-envctl-allow-paths: ["../${dir.split('/').at(-1)}-shared"]\n${PIPELINE}`));
    expect(capabilities.commands).toEqual([
      { where: 'pipeline.build.run', argv: ['npm', 'test'] },
      { where: 'pipeline.notify.command', argv: ['./notify.sh', '--channel', 'ops'] },
    ]);
    expect(capabilities.paths).toEqual([`${dir}-shared`]);
    await rm(`${dir}-shared`, { recursive: true, force: true });
  });

  it('keys trust to exactly those commands: any change, or another file, is a new hash', async () => {
    const base = hostCapabilities(await model(PIPELINE));
    const same = hostCapabilities(await model(`# a comment and reordered keys change nothing\n${PIPELINE}`));
    const changed = hostCapabilities(await model(PIPELINE.replace('["npm", "test"]', '["npm", "test", "--", "x"]')));
    const file = join(dir, 'envctl.yaml');
    expect(capabilitiesHash(file, same)).toBe(capabilitiesHash(file, base));
    expect(capabilitiesHash(file, changed)).not.toBe(capabilitiesHash(file, base));
    expect(capabilitiesHash(join(dir, 'other.yaml'), base)).not.toBe(capabilitiesHash(file, base));
  });
});

describe('when trust is required', () => {
  it('always with ENVCTL_REQUIRE_TRUST, even in CI', async () => {
    const file = join(dir, 'envctl.yaml');
    await writeFile(file, PIPELINE);
    expect(await trustRequirement(file, { ENVCTL_REQUIRE_TRUST: '1', CI: 'true' }, process.geteuid!())).toMatchObject({ required: true });
  });

  it('not for your own file outside a git clone, nor in CI', async () => {
    const file = join(dir, 'envctl.yaml');
    await writeFile(file, PIPELINE);
    expect(await trustRequirement(file, {}, process.geteuid!())).toMatchObject({ required: false });
    expect(await trustRequirement(file, { CI: 'true' }, 4242)).toMatchObject({ required: false });
  });

  it('for a file owned by someone else', async () => {
    const file = join(dir, 'envctl.yaml');
    await writeFile(file, PIPELINE);
    const owner = (await stat(file)).uid;
    expect(await trustRequirement(file, {}, owner + 1)).toMatchObject({ required: true, reason: expect.stringContaining(`owned by uid ${owner}`) });
  });

  it('for a git clone (a work tree with a remote), also from a subfolder; not for a repository without one', async () => {
    await execa('git', ['init', '-q', dir]);
    await mkdir(join(dir, 'deploy'));
    const file = join(dir, 'deploy', 'envctl.yaml');
    await writeFile(file, PIPELINE);
    expect(await gitRemote(join(dir, 'deploy'))).toBeUndefined();
    expect(await trustRequirement(file, {}, process.geteuid!())).toMatchObject({ required: false });
    await execa('git', ['-C', dir, 'remote', 'add', 'origin', 'https://git.example.invalid/shop.git']);
    expect(await gitRemote(join(dir, 'deploy'))).toBe('https://git.example.invalid/shop.git');
    expect(await trustRequirement(file, {}, process.geteuid!())).toMatchObject({ required: true, reason: expect.stringContaining('git clone of https://git.example.invalid/shop.git') });
  });
});

describe('the gate and the store', () => {
  it('refuses an untrusted definition with exit 2, showing the commands and the fix; passes once trusted', async () => {
    const loaded = await model(PIPELINE);
    const env = { ENVCTL_REQUIRE_TRUST: '1', ENVCTL_TRUST_FILE: join(dir, 'store', 'trust.json') };
    const options = { env, uid: process.geteuid!(), display: 'envctl.yaml' };
    const refusal = await assertTrusted(loaded, options).catch((error: unknown) => error as Error & { exitCode: number; code: string; hint: string });
    expect(refusal).toMatchObject({ code: 'UNTRUSTED_DEFINITION', exitCode: 2 });
    expect(refusal!.message).toContain('pipeline.build.run: npm test');
    expect(refusal!.message).toContain('pipeline.notify.command: ./notify.sh --channel ops');
    expect(refusal!.hint).toContain('envctl trust -f envctl.yaml');

    const file = loaded.file;
    const hash = capabilitiesHash(file, hostCapabilities(loaded));
    await writeTrustStore(env.ENVCTL_TRUST_FILE, withTrust(await readTrustStore(env.ENVCTL_TRUST_FILE), { file, hash, commands: [] }, new Date(0)));
    await expect(assertTrusted(loaded, options)).resolves.toBeUndefined();
    expect((await stat(env.ENVCTL_TRUST_FILE)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'store'))).mode & 0o777).toBe(0o700);

    // The same file with a changed command is not trusted any more.
    const changed = await model(PIPELINE.replace('["npm", "test"]', '["curl", "https://evil.example.invalid"]'));
    await expect(assertTrusted(changed, options)).rejects.toMatchObject({ code: 'UNTRUSTED_DEFINITION' });
  });

  it('lets a definition without host commands or outside paths through', async () => {
    const loaded = await model('services:\n  app: { image: app }\n');
    await expect(assertTrusted(loaded, { env: { ENVCTL_REQUIRE_TRUST: '1', ENVCTL_TRUST_FILE: join(dir, 'none.json') }, uid: 0, display: 'envctl.yaml' })).resolves.toBeUndefined();
  });

  it('reports a damaged store (exit 3) and never treats it as trusting anything', async () => {
    const path = join(dir, 'trust.json');
    for (const text of ['{"version":1,"trusted":[{"file":', '{"version":2,"trusted":[]}', '[]']) {
      await writeFile(path, text);
      await expect(readTrustStore(path)).rejects.toMatchObject({ code: 'TRUST_STORE_CORRUPT', exitCode: 3, message: expect.stringContaining(path) });
    }
    expect(await readFile(path, 'utf8')).toBe('[]');
  });
});
