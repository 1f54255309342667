/**
 * `envctl images list|build` through the built CLI, against the base images on this machine (built
 * by scripts/setup.sh). Nothing is rebuilt here: a build takes minutes. What is checked: list agrees
 * with the engine's own recipe labels and build.sh's hashes; a build of a present image is a skip
 * (same image id); bad names and a missing engine give their exit codes; and the npm package ships
 * the recipes so that its hashes are the ones the images were built from.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envctl } from '../support/cli.js';
import { docker } from '../support/docker.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface ListedImage {
  name: string;
  tag: string;
  recipe: string;
  status: 'present' | 'stale' | 'missing';
  id?: string;
}

/** build.sh's own hashes, from a given copy of scripts/images. */
async function scriptHashes(imagesDir: string): Promise<Map<string, string>> {
  const { stdout } = await run('bash', [join(imagesDir, 'build.sh'), '--list']);
  return new Map(stdout.trim().split('\n').map((line) => {
    const [, tag, recipe] = line.split('\t');
    return [tag!, recipe!] as const;
  }));
}

/** The engine's view of a tag: its id and recipe label, or undefined. */
async function engineImage(tag: string): Promise<{ id: string; recipe: string | undefined } | undefined> {
  try {
    const image = await docker.getImage(tag).inspect();
    return { id: image.Id, recipe: image.Config.Labels?.['dev.envctl.base.recipe'] };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'envctl-e2e-images-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('envctl images', () => {
  it('list reports each base image with build.sh\'s recipe hash and the status the engine\'s label gives', async () => {
    const result = await envctl(['images', 'list', '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const listed = JSON.parse(String(result.stdout)) as ListedImage[];
    const hashes = await scriptHashes(join(ROOT, 'scripts', 'images'));
    expect(listed.map((image) => image.tag)).toEqual([...hashes.keys()]);
    for (const image of listed) {
      expect(image.recipe).toBe(hashes.get(image.tag));
      const onEngine = await engineImage(image.tag);
      const expected = onEngine === undefined ? 'missing' : onEngine.recipe === image.recipe ? 'present' : 'stale';
      expect(image.status, image.tag).toBe(expected);
      expect(image.id).toBe(onEngine?.id);
    }
    // The machine's setup built all four from the current recipes.
    expect(listed.map((image) => image.status)).toEqual(['present', 'present', 'present', 'present']);

    const text = await envctl(['images', 'list']);
    expect(text.exitCode).toBe(0);
    for (const image of listed) expect(String(text.stdout)).toMatch(new RegExp(`^${image.tag.replace(/[.:/]/g, '\\$&')}\\s+present\\s+recipe ${image.recipe}\\s+\\d+ MB$`, 'm'));
  });

  it('build of a present image with an unchanged recipe is a skip: same image, nothing run', async () => {
    const before = await engineImage('envctl/base-redis:7');
    expect(before).toBeDefined();
    const result = await envctl(['images', 'build', 'envctl/base-redis:7', '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const body = JSON.parse(String(result.stdout)) as { images: Array<ListedImage & { action: string }>; seconds: number };
    expect(body.images).toHaveLength(1);
    expect(body.images[0]).toMatchObject({ tag: 'envctl/base-redis:7', status: 'present', action: 'skipped', recipe: before!.recipe });
    expect(body.seconds).toBe(0);
    expect(String(result.stderr)).not.toContain('building');
    expect((await engineImage('envctl/base-redis:7'))?.id).toBe(before!.id);

    const text = await envctl(['images', 'build', 'base-redis']);
    expect(text.exitCode).toBe(0);
    expect(String(text.stdout)).toBe(`skipped envctl/base-redis:7: present with recipe ${before!.recipe}`);
  });

  it('an unknown image is bad input (2); no engine is an environment problem (3)', async () => {
    const unknown = await envctl(['images', 'build', 'envctl/base-redis:6']);
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toContain('unknown base image "envctl/base-redis:6"');
    expect(String(unknown.stderr)).toContain('envctl/base-redis:7');

    for (const args of [['images', 'list'], ['images', 'build', 'base-redis']]) {
      const noEngine = await envctl(args, { env: { DOCKER_HOST: `unix://${join(tmp, 'nothing.sock')}` } });
      expect(noEngine.exitCode, args.join(' ')).toBe(3);
      expect(String(noEngine.stderr)).toContain('no Docker engine at');
    }
  });

  it('the npm package ships scripts/images, and its recipes hash to the images on this engine', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
    const files = new Map(info!.files.map((file) => [file.path, file.mode]));
    expect(files.get('scripts/images/build.sh')! & 0o111).not.toBe(0);
    expect(files.get('scripts/images/base-redis/rootfs/usr/local/bin/docker-entrypoint.sh')! & 0o111).not.toBe(0);
    const unpacked = join(tmp, 'unpacked');
    await run('mkdir', ['-p', unpacked]);
    await run('tar', ['-xzf', join(tmp, info!.filename), '-C', unpacked]);
    expect(await readdir(join(unpacked, 'package', 'scripts', 'images'))).toEqual(expect.arrayContaining(['build.sh', 'base-debian', 'base-node', 'base-postgres', 'base-redis']));
    const hashes = await scriptHashes(join(unpacked, 'package', 'scripts', 'images'));
    for (const [tag, recipe] of hashes) expect((await engineImage(tag))?.recipe, tag).toBe(recipe);
  });
});
