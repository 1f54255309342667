/**
 * envctl's base images (envctl/base-debian:12 …): which recipes exist, whether the engine has each
 * one built from its current recipe, and building the missing or outdated ones.
 *
 * The recipes and the builder are scripts/images/ (debootstrap + chroot + `docker import`), shipped
 * in the npm package; `scripts/setup.sh` runs the same build.sh. The recipe hash is computed by
 * build.sh (`--list`) and stored on each image as the label `dev.envctl.base.recipe`, so the CLI and
 * the script can never disagree about it: here it is only read and compared.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getJson, type ApiEndpoint } from '../engine/engine-api.js';
import { resolveDockerEndpoint, withTimeout } from '../engine/docker-engine.js';
import { EnvctlError, EnvironmentError, ExitCode, UsageError, WorkFailedError } from '../errors.js';

/** The package's root: dist/images/ (or src/images/) is two levels down. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const IMAGES_DIR = join(PACKAGE_ROOT, 'scripts', 'images');
export const BUILD_SCRIPT = join(IMAGES_DIR, 'build.sh');

/** The label build.sh puts the recipe hash in. */
export const RECIPE_LABEL = 'dev.envctl.base.recipe';

/** The minbase tarball build.sh caches (debootstrap is only needed while it is absent). */
export const MINBASE_CACHE = join('cache', 'debian-bookworm-minbase.tar.gz');

export const DEBOOTSTRAP_INSTALL = 'sudo apt-get install -y debootstrap debian-archive-keyring';

export interface BaseRecipe {
  /** The recipe folder in scripts/images/ (base-redis). */
  name: string;
  /** The image's tag (envctl/base-redis:7). */
  tag: string;
  /** Hash of the recipe folder and the one it starts FROM. */
  recipe: string;
}

/** What the engine has under a tag: undefined when the tag does not exist. */
export interface InspectedImage {
  id: string;
  /** The image's recipe label; undefined when it has none (not built by envctl). */
  recipe: string | undefined;
  size: number;
  created: string;
}

export type BaseImageStatus = 'present' | 'stale' | 'missing';

export interface BaseImageState extends BaseRecipe {
  status: BaseImageStatus;
  /** The recipe the image on the engine was built from, when it differs (stale) or is unknown. */
  imageRecipe?: string | undefined;
  id?: string | undefined;
  size?: number | undefined;
}

/** build.sh --list: one `NAME<TAB>TAG<TAB>RECIPE` a line. */
export function parseRecipeList(text: string): BaseRecipe[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [name, tag, recipe, ...rest] = line.split('\t');
      if (!name || !tag || !recipe || rest.length > 0 || !/^[0-9a-f]{16}$/.test(recipe)) throw new Error(`unexpected line from build.sh --list: ${JSON.stringify(line)}`);
      return { name, tag, recipe };
    });
}

/** present: the tag exists with this recipe; stale: it exists from another (or no) recipe; missing: no such tag. */
export function imageStatus(recipe: BaseRecipe, image: InspectedImage | undefined): BaseImageState {
  if (image === undefined) return { ...recipe, status: 'missing' };
  const status: BaseImageStatus = image.recipe === recipe.recipe ? 'present' : 'stale';
  return { ...recipe, status, ...(status === 'stale' ? { imageRecipe: image.recipe ?? 'none' } : {}), id: image.id, size: image.size };
}

/**
 * The recipes the user asked for, in build order; a name is the folder (`base-redis`), the tag
 * (`envctl/base-redis:7`) or the tag without its version (`envctl/base-redis`). None: all of them.
 */
export function selectRecipes(all: readonly BaseRecipe[], names: readonly string[]): BaseRecipe[] {
  if (names.length === 0) return [...all];
  const wanted = new Set<string>();
  for (const name of names) {
    const found = all.find((recipe) => recipe.name === name || recipe.tag === name || recipe.tag.split(':')[0] === name);
    if (!found) throw new UsageError('UNKNOWN_BASE_IMAGE', `unknown base image "${name}"`, `known: ${all.map((recipe) => recipe.tag).join(', ')} (or their folder names: ${all.map((recipe) => recipe.name).join(', ')})`);
    wanted.add(found.name);
  }
  return all.filter((recipe) => wanted.has(recipe.name));
}

/** The images a build must make: the missing and stale ones, or every selected one with --rebuild. */
export function toBuild(states: readonly BaseImageState[], rebuild: boolean): BaseImageState[] {
  return states.filter((state) => rebuild || state.status !== 'present');
}

export type Privilege = { kind: 'root' } | { kind: 'sudo' };

/** Building needs root (debootstrap, chroot, mount): being root, or passwordless sudo. */
export function choosePrivilege(uid: number | undefined, passwordlessSudo: boolean): Privilege {
  if (uid === 0) return { kind: 'root' };
  if (passwordlessSudo) return { kind: 'sudo' };
  throw new EnvironmentError(
    'IMAGES_NEED_ROOT',
    'building the base images needs root (debootstrap, chroot and mount), and this is not root and `sudo -n` is not allowed without a password',
    'run it as root (`sudo envctl images build`), or give this user passwordless sudo (hosted CI runners have it)',
  );
}

/** The recipes and their hashes, from build.sh --list (needs bash; neither root nor an engine). */
export async function readRecipes(env: NodeJS.ProcessEnv = process.env, script: string = BUILD_SCRIPT): Promise<BaseRecipe[]> {
  if (!existsSync(script)) throw new EnvironmentError('IMAGES_SCRIPTS_MISSING', `the base image recipes are not installed (${script} does not exist)`, 'reinstall envctl: its npm package ships scripts/images/');
  try {
    const { stdout } = await promisify(execFile)('bash', [script, '--list'], { env, maxBuffer: 1024 * 1024 });
    return parseRecipeList(stdout);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new EnvironmentError('IMAGES_RECIPES_UNREADABLE', `cannot read the base image recipes: ${detail}`, 'this needs bash, sha256sum, find and xargs (coreutils, findutils)', error);
  }
}

/** The engine's images under the recipes' tags (a read-only API call each). */
export async function inspectBaseImages(recipes: readonly BaseRecipe[], env: Readonly<Record<string, string | undefined>>): Promise<Map<string, InspectedImage>> {
  const endpoint = resolveDockerEndpoint(env).options as ApiEndpoint;
  const found = await Promise.all(
    recipes.map(async (recipe) => {
      try {
        const image = await withTimeout(getJson<{ Id: string; Size: number; Created: string; Config?: { Labels?: Record<string, string> | null } }>(endpoint, `/images/${encodeURIComponent(recipe.tag)}/json`), 10_000, `inspect image ${recipe.tag}`);
        return [recipe.tag, { id: image.Id, recipe: image.Config?.Labels?.[RECIPE_LABEL], size: image.Size, created: image.Created }] as const;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw new WorkFailedError('ENGINE_CALL_FAILED', `the Docker engine failed to inspect image ${recipe.tag}: ${(error as Error).message}`, undefined, error);
      }
    }),
  );
  return new Map(found.filter((entry): entry is readonly [string, InspectedImage] => entry !== undefined));
}

export async function baseImageStates(recipes: readonly BaseRecipe[], env: Readonly<Record<string, string | undefined>>): Promise<BaseImageState[]> {
  const images = await inspectBaseImages(recipes, env);
  return recipes.map((recipe) => imageStatus(recipe, images.get(recipe.tag)));
}

/** Where build.sh keeps its minbase cache and logs: the checkout's .tools/ (as setup.sh), else /var/cache/envctl. */
export function imagesStateDir(env: Readonly<Record<string, string | undefined>>, packageRoot: string = PACKAGE_ROOT): string {
  if (env.ENVCTL_IMAGES_STATE) return env.ENVCTL_IMAGES_STATE;
  if (existsSync(join(packageRoot, '.git')) || existsSync(join(packageRoot, '.tools'))) return join(packageRoot, '.tools');
  return '/var/cache/envctl';
}

/** `command -v NAME` over PATH plus the sbin folders (debootstrap is in /usr/sbin, off a user's PATH). */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutable(name: string, path: string | undefined, extraDirs: readonly string[] = SBIN_DIRS): string | undefined {
  const dirs = [...(path ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function passwordlessSudo(): Promise<boolean> {
  try {
    await promisify(execFile)('sudo', ['-n', 'true'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The checks before a build that would otherwise fail half-way: tools, then root. */
export async function preflight(options: { env: Readonly<Record<string, string | undefined>>; stateDir: string; uid: number | undefined; extraDirs?: readonly string[] }): Promise<Privilege> {
  if (findExecutable('docker', options.env.PATH, options.extraDirs) === undefined) {
    throw new EnvironmentError('DOCKER_CLI_MISSING', 'the `docker` command is not on PATH; building the base images runs `docker import`', 'install the Docker CLI (Debian/Ubuntu: `sudo apt-get install -y docker.io`, or docker-ce-cli from Docker\'s repository)');
  }
  if (!existsSync(join(options.stateDir, MINBASE_CACHE)) && findExecutable('debootstrap', options.env.PATH, options.extraDirs) === undefined) {
    throw new EnvironmentError(
      'DEBOOTSTRAP_MISSING',
      'debootstrap is not installed; the base images start from a Debian 12 (bookworm) root file system that it makes',
      `install it: \`${DEBOOTSTRAP_INSTALL}\` (Debian and Ubuntu both package it; on Ubuntu, debian-archive-keyring lets it verify Debian's mirror)`,
    );
  }
  return choosePrivilege(options.uid, options.uid === 0 ? false : await passwordlessSudo());
}

/** The variables build.sh needs, passed explicitly so they survive sudo's environment reset. */
function buildEnv(env: Readonly<Record<string, string | undefined>>, stateDir: string): Record<string, string> {
  const keep = ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_CONFIG', 'ENVCTL_DEBIAN_MIRROR', 'NODE_PKG_VERSION', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'npm_config_registry'];
  const out: Record<string, string> = {};
  for (const key of keep) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  out.ENVCTL_IMAGES_STATE = stateDir;
  out.ENVCTL_IMAGES_PREFIX = 'envctl images:';
  return out;
}

/**
 * Runs build.sh for these images (as root, or through `sudo -n`), its progress on stderr. Resolves
 * when it succeeded; a failure says where the logs are.
 */
export interface BuildOptions {
  names: readonly string[];
  rebuild: boolean;
  privilege: Privilege;
  env: Readonly<Record<string, string | undefined>>;
  stateDir: string;
  verbose?: boolean;
  script?: string;
}

/** The command line that runs build.sh: directly as root, else `sudo -n env VAR=… bash build.sh …`. */
export function buildCommandLine(options: BuildOptions): { command: string; args: string[]; vars: Record<string, string> } {
  const vars = buildEnv(options.env, options.stateDir);
  const scriptArgs = [options.script ?? BUILD_SCRIPT, ...(options.rebuild ? ['--rebuild'] : []), ...(options.verbose ? ['--verbose'] : []), ...options.names];
  if (options.privilege.kind === 'root') return { command: 'bash', args: scriptArgs, vars };
  return { command: 'sudo', args: ['-n', 'env', ...Object.entries(vars).map(([key, value]) => `${key}=${value}`), 'bash', ...scriptArgs], vars };
}

export async function runBuild(options: BuildOptions): Promise<void> {
  const { command, args, vars } = buildCommandLine(options);
  const code = await new Promise<number | null>((resolve, reject) => {
    // The script's stdout goes to stderr too: stdout is for envctl's result (--json).
    const child = spawn(command, [...args], { env: { ...process.env, ...vars }, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(signal ? 130 : exitCode));
  });
  if (code === 0) return;
  if (code === 130) throw new EnvctlError('CANCELLED', 'the base image build was interrupted', { exitCode: ExitCode.cancelled, hint: 'run `envctl images build` again: finished images are kept, the rest is built' });
  if (code === 3) throw new EnvironmentError('ENGINE_UNREACHABLE', 'no Docker engine answers (`docker info` failed as the build\'s user)', 'start dockerd, or point DOCKER_HOST at a running engine');
  throw new WorkFailedError('IMAGES_BUILD_FAILED', `building the base images failed (build.sh exit ${String(code)})`, `the lines above name the failed step; full logs in ${join(options.stateDir, 'logs')}`);
}
