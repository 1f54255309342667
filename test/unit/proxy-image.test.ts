/**
 * ensureProxyImage against a recording fake engine: the content-addressed tag, no build when the
 * tag exists, the build context it sends, and the errors that say what to run.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { BuildSpec } from '../../src/engine/types.js';
import { EnvironmentError } from '../../src/errors.js';
import { LABEL } from '../../src/labels.js';
import { ensureProxyImage, PROXY_BASE_IMAGE } from '../../src/release/proxy-image.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-proxy-image-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Build {
  spec: BuildSpec;
  files: Record<string, string>;
  modes: Record<string, number>;
}

function fakeEngine(images: string[]): { engine: Engine; builds: Build[] } {
  const present = new Set(images);
  const builds: Build[] = [];
  const engine = {
    existingImages: async (refs: readonly string[]) => new Set(refs.filter((ref) => present.has(ref))),
    buildImage: async (spec: BuildSpec, onLine: (line: string) => void) => {
      const files: Record<string, string> = {};
      const modes: Record<string, number> = {};
      for (const name of await readdir(spec.context)) {
        files[name] = await readFile(join(spec.context, name), 'utf8');
        modes[name] = (await stat(join(spec.context, name))).mode & 0o777;
      }
      builds.push({ spec, files, modes });
      onLine('Successfully built');
      present.add(spec.tag);
    },
  } as unknown as Engine;
  return { engine, builds };
}

describe('ensureProxyImage', () => {
  it('builds envctl/proxy:<sha256 prefix> from the base image once, then finds it by tag', async () => {
    const bundlePath = join(dir, 'bundle.mjs');
    await writeFile(bundlePath, 'console.log("proxy")\n');
    const hash = createHash('sha256').update('console.log("proxy")\n').digest('hex').slice(0, 12);
    const { engine, builds } = fakeEngine([PROXY_BASE_IMAGE]);
    const lines: string[] = [];
    const ref = await ensureProxyImage(engine, { bundlePath, signal: new AbortController().signal, onLine: (line) => lines.push(line) });
    expect(ref).toBe(`envctl/proxy:${hash}`);
    expect(lines).toEqual(['Successfully built']);
    expect(builds).toHaveLength(1);
    const [build] = builds;
    expect(build!.spec).toMatchObject({ dockerfile: 'Dockerfile', tag: ref, labels: { [LABEL.buildHash]: hash } });
    expect(build!.files['proxy.mjs']).toBe('console.log("proxy")\n');
    expect(build!.modes['proxy.mjs']).toBe(0o644);
    expect(build!.files.Dockerfile).toBe(
      [
        'FROM envctl/base-node:24',
        'COPY proxy.mjs /opt/envctl-proxy/proxy.mjs',
        'ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/opt/envctl-proxy/proxy.mjs"]',
        'CMD []',
        '',
      ].join('\n'),
    );
    // The temporary context is gone.
    await expect(stat(build!.spec.context)).rejects.toMatchObject({ code: 'ENOENT' });

    expect(await ensureProxyImage(engine, { bundlePath, signal: new AbortController().signal })).toBe(ref);
    expect(builds).toHaveLength(1);
  });

  it('says to run npm run build when the bundle is missing', async () => {
    const { engine, builds } = fakeEngine([PROXY_BASE_IMAGE]);
    const error = await ensureProxyImage(engine, { bundlePath: join(dir, 'missing.mjs'), signal: new AbortController().signal }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error).toMatchObject({ code: 'PROXY_BUNDLE_MISSING', hint: expect.stringMatching(/npm run build/) });
    expect((error as Error).message).toMatch(/missing\.mjs cannot be read \(ENOENT\)/);
    expect(builds).toEqual([]);
  });

  it('says to run envctl images build (or npm run setup) when the base image is missing', async () => {
    const bundlePath = join(dir, 'bundle.mjs');
    await writeFile(bundlePath, 'x');
    const { engine, builds } = fakeEngine([]);
    await expect(ensureProxyImage(engine, { bundlePath, signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'PROXY_BASE_IMAGE_MISSING',
      hint: expect.stringMatching(/^run `envctl images build envctl\/base-node:24`: .*npm run setup/),
    });
    expect(builds).toEqual([]);
  });
});
