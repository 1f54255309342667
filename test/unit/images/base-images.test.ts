import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_IMAGES } from '../../../src/doctor/checks.js';
import { EnvironmentError, ExitCode, UsageError } from '../../../src/errors.js';
import {
  BUILD_SCRIPT,
  IMAGES_DIR,
  MINBASE_CACHE,
  buildCommandLine,
  choosePrivilege,
  imageStatus,
  imagesStateDir,
  parseRecipeList,
  preflight,
  readRecipes,
  selectRecipes,
  toBuild,
  type BaseRecipe,
} from '../../../src/images/base-images.js';
import { renderImageStates } from '../../../src/images/render.js';

const temps: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'envctl-images-unit-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of scripts/images/ somewhere else, as the npm package installs it. */
function copyRecipes(): string {
  const dir = join(temp(), 'scripts', 'images');
  cpSync(IMAGES_DIR, dir, { recursive: true });
  return dir;
}

async function hashes(imagesDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const recipes = await readRecipes(env, join(imagesDir, 'build.sh'));
  return Object.fromEntries(recipes.map((recipe) => [recipe.name, recipe.recipe]));
}

describe('recipe hash (build.sh --list)', () => {
  it('lists the four base images doctor checks, in build order, with 16-hex hashes', async () => {
    const recipes = await readRecipes();
    expect(recipes.map((recipe) => recipe.tag)).toEqual([...BASE_IMAGES]);
    expect(recipes.map((recipe) => recipe.name)).toEqual(['base-debian', 'base-node', 'base-postgres', 'base-redis']);
    for (const recipe of recipes) expect(recipe.recipe).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(recipes.map((recipe) => recipe.recipe)).size).toBe(4);
  });

  it('does not depend on where the recipes are installed (checkout or node_modules)', async () => {
    expect(await hashes(copyRecipes())).toEqual(await hashes(IMAGES_DIR));
  });

  it('editing one recipe changes its hash only; editing base-debian changes every image built from it', async () => {
    const original = await hashes(IMAGES_DIR);
    const dir = copyRecipes();
    appendFileSync(join(dir, 'base-redis', 'image.env'), '\n# edited\n');
    const redisEdited = await hashes(dir);
    expect(redisEdited['base-redis']).not.toBe(original['base-redis']);
    expect({ ...redisEdited, 'base-redis': original['base-redis'] }).toEqual(original);

    writeFileSync(join(dir, 'base-debian', 'rootfs', 'etc-marker'), 'x\n');
    const debianEdited = await hashes(dir);
    for (const name of Object.keys(original)) expect(debianEdited[name]).not.toBe(redisEdited[name]);
  });

  it('a file becoming executable, and the Node version base-node packs, are part of the recipe', async () => {
    const dir = copyRecipes();
    const original = await hashes(dir);
    mkdirSync(join(dir, 'base-postgres', 'rootfs', 'usr', 'local', 'bin'), { recursive: true });
    const file = join(dir, 'base-postgres', 'rootfs', 'usr', 'local', 'bin', 'extra');
    writeFileSync(file, '#!/bin/sh\n');
    const added = await hashes(dir);
    chmodSync(file, 0o755);
    const executable = await hashes(dir);
    expect(added['base-postgres']).not.toBe(original['base-postgres']);
    expect(executable['base-postgres']).not.toBe(added['base-postgres']);
    expect(executable['base-redis']).toBe(original['base-redis']);

    const otherNode = await hashes(dir, { ...process.env, NODE_PKG_VERSION: '24.0.0' });
    expect(otherNode['base-node']).not.toBe(executable['base-node']);
    expect({ ...otherNode, 'base-node': executable['base-node'] }).toEqual(executable);
  });

  it('an unknown name is bad input (exit 2) from the script', async () => {
    const result = await promisify(execFile)('bash', [join(IMAGES_DIR, 'build.sh'), '--list', 'base-nope']).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown image 'base-nope'") });
  });
});

describe('parseRecipeList', () => {
  it('reads NAME TAB TAG TAB HASH lines and rejects anything else', () => {
    expect(parseRecipeList('base-redis\tenvctl/base-redis:7\tdf00eaf55d7b158a\n\n')).toEqual([{ name: 'base-redis', tag: 'envctl/base-redis:7', recipe: 'df00eaf55d7b158a' }]);
    expect(() => parseRecipeList('base-redis envctl/base-redis:7 df00eaf55d7b158a')).toThrow(/unexpected line/);
    expect(() => parseRecipeList('base-redis\tenvctl/base-redis:7\tnot-a-hash')).toThrow(/unexpected line/);
  });
});

const redis: BaseRecipe = { name: 'base-redis', tag: 'envctl/base-redis:7', recipe: 'df00eaf55d7b158a' };
const debian: BaseRecipe = { name: 'base-debian', tag: 'envctl/base-debian:12', recipe: 'e761c6c2963f2721' };
const node: BaseRecipe = { name: 'base-node', tag: 'envctl/base-node:24', recipe: '048dd5f212c746d5' };

describe('imageStatus', () => {
  it.each([
    ['no tag', undefined, 'missing', undefined],
    ['same recipe label', { id: 'sha256:a', recipe: 'df00eaf55d7b158a', size: 94e6, created: '' }, 'present', undefined],
    ['another recipe label', { id: 'sha256:b', recipe: '0123456789abcdef', size: 94e6, created: '' }, 'stale', '0123456789abcdef'],
    ['no recipe label (not built by envctl)', { id: 'sha256:c', recipe: undefined, size: 94e6, created: '' }, 'stale', 'none'],
  ] as const)('%s -> %s', (_, image, status, imageRecipe) => {
    const state = imageStatus(redis, image);
    expect(state.status).toBe(status);
    expect(state.imageRecipe).toBe(imageRecipe);
    expect(state.id).toBe(image?.id);
  });

  it('toBuild takes the missing and stale ones, or all with --rebuild', () => {
    const states = [imageStatus(debian, { id: 'a', recipe: debian.recipe, size: 1, created: '' }), imageStatus(node, undefined), imageStatus(redis, { id: 'b', recipe: 'ffffffffffffffff', size: 1, created: '' })];
    expect(toBuild(states, false).map((state) => state.name)).toEqual(['base-node', 'base-redis']);
    expect(toBuild(states, true).map((state) => state.name)).toEqual(['base-debian', 'base-node', 'base-redis']);
    expect(toBuild([states[0]!], false)).toEqual([]);
  });

  it('renders one line per image and what to run for the ones not present', () => {
    const text = renderImageStates([imageStatus(debian, { id: 'a', recipe: debian.recipe, size: 87_490_049, created: '' }), imageStatus(redis, undefined)]);
    expect(text).toBe(
      ['envctl/base-debian:12  present  recipe e761c6c2963f2721  87 MB', 'envctl/base-redis:7    missing  recipe df00eaf55d7b158a  not on this engine', '', 'build it: envctl images build envctl/base-redis:7', ''].join('\n'),
    );
    expect(renderImageStates([imageStatus(redis, { id: 'a', recipe: redis.recipe, size: 94e6, created: '' })])).not.toContain('build');
  });
});

describe('selectRecipes', () => {
  const all = [debian, node, redis];
  it('accepts the tag, the tag without version or the folder name, in build order, without duplicates', () => {
    expect(selectRecipes(all, [])).toEqual(all);
    expect(selectRecipes(all, ['envctl/base-redis:7', 'base-debian', 'envctl/base-redis'])).toEqual([debian, redis]);
  });
  it('an unknown name is a usage error that lists the known ones', () => {
    const error = (() => {
      try {
        selectRecipes(all, ['envctl/base-redis:6']);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.badInput);
    expect((error as UsageError).hint).toContain('envctl/base-redis:7');
  });
});

describe('privilege and preflight', () => {
  it('root builds directly, a user with passwordless sudo through sudo, anyone else gets exit 3 with the fix', () => {
    expect(choosePrivilege(0, false)).toEqual({ kind: 'root' });
    expect(choosePrivilege(1000, true)).toEqual({ kind: 'sudo' });
    expect(() => choosePrivilege(1000, false)).toThrow(EnvironmentError);
    try {
      choosePrivilege(1000, false);
    } catch (error) {
      expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
      expect((error as EnvironmentError).message).toContain('needs root');
      expect((error as EnvironmentError).hint).toContain('sudo');
    }
  });

  it('runs build.sh directly as root, else through `sudo -n env` with the variables sudo would drop', () => {
    const env = { PATH: '/opt/node/bin:/usr/bin', DOCKER_HOST: 'unix:///run/x.sock', SECRET_TOKEN: 'no', HOME: '/home/u' };
    const root = buildCommandLine({ names: ['base-redis'], rebuild: true, privilege: { kind: 'root' }, env, stateDir: '/var/cache/envctl' });
    expect(root).toMatchObject({ command: 'bash', args: [BUILD_SCRIPT, '--rebuild', 'base-redis'] });
    expect(root.vars).toEqual({ PATH: env.PATH, DOCKER_HOST: env.DOCKER_HOST, HOME: '/home/u', ENVCTL_IMAGES_STATE: '/var/cache/envctl', ENVCTL_IMAGES_PREFIX: 'envctl images:' });
    const sudo = buildCommandLine({ names: ['base-node', 'base-redis'], rebuild: false, privilege: { kind: 'sudo' }, env, stateDir: '/s' });
    expect(sudo.command).toBe('sudo');
    expect(sudo.args.slice(0, 2)).toEqual(['-n', 'env']);
    expect(sudo.args).toContain('PATH=/opt/node/bin:/usr/bin');
    expect(sudo.args).toContain('DOCKER_HOST=unix:///run/x.sock');
    expect(sudo.args).toContain('ENVCTL_IMAGES_STATE=/s');
    expect(sudo.args.join(' ')).not.toContain('SECRET_TOKEN');
    expect(sudo.args.slice(-4)).toEqual(['bash', BUILD_SCRIPT, 'base-node', 'base-redis']);
  });

  function fakeBin(names: string[]): string {
    const dir = temp();
    for (const name of names) {
      writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
      chmodSync(join(dir, name), 0o755);
    }
    return dir;
  }

  it('names the apt-get command when debootstrap is missing and no minbase is cached', async () => {
    const error = await preflight({ env: { PATH: fakeBin(['docker']) }, stateDir: temp(), uid: 0, extraDirs: [] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).code).toBe('DEBOOTSTRAP_MISSING');
    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).hint).toContain('sudo apt-get install -y debootstrap');
  });

  it('needs no debootstrap once the minbase is cached; needs the docker command', async () => {
    const stateDir = temp();
    mkdirSync(join(stateDir, 'cache'));
    writeFileSync(join(stateDir, MINBASE_CACHE), 'tar');
    expect(await preflight({ env: { PATH: fakeBin(['docker']) }, stateDir, uid: 0, extraDirs: [] })).toEqual({ kind: 'root' });
    const noDocker = await preflight({ env: { PATH: fakeBin([]) }, stateDir, uid: 0, extraDirs: [] }).catch((caught: unknown) => caught);
    expect(noDocker).toMatchObject({ code: 'DOCKER_CLI_MISSING', exitCode: ExitCode.environment });
  });

  it('keeps the cache in a checkout\'s .tools, else /var/cache/envctl, unless ENVCTL_IMAGES_STATE says', () => {
    const checkout = temp();
    mkdirSync(join(checkout, '.git'));
    expect(imagesStateDir({}, checkout)).toBe(join(checkout, '.tools'));
    expect(imagesStateDir({}, temp())).toBe('/var/cache/envctl');
    expect(imagesStateDir({ ENVCTL_IMAGES_STATE: '/tmp/x' }, checkout)).toBe('/tmp/x');
  });
});
