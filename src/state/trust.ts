/**
 * The trust gate for what a definition does on the host: the commands it runs there (pipeline
 * `build`/`integration` without `service:`, `notify.command`) and the host paths outside its folder
 * it may use (`x-envctl-allow-paths`). Modelled on direnv `allow` and mise `trust`: a definition
 * obtained from elsewhere runs nothing on the host until `envctl trust` has shown those commands
 * and recorded their hash in a user-level store; any change to them needs trusting again.
 *
 * "Obtained from elsewhere" (when trust is required):
 * - `ENVCTL_REQUIRE_TRUST=1` (paranoid: every definition with host commands or outside paths), or,
 *   unless running in CI (`CI` set, like mise: CI runs the repository's own code anyway),
 * - the definition file is not owned by the current user, or
 * - the definition lives in a git clone (a work tree with a remote).
 * A folder you made yourself (not a clone, your file) needs no trust.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { lock } from 'proper-lockfile';
import { quote } from 'shell-quote';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import type { EnvironmentModel } from '../definition/model.js';
import { isUnder } from '../definition/path-scope.js';
import { EnvctlError, EnvironmentError, ExitCode } from '../errors.js';
import { isTruthy } from '../fs-util.js';

/** One host command of a definition: where it is declared, its argv and the variables it gets (NODE_OPTIONS can run code too). */
export interface HostCommand {
  where: string;
  argv: string[];
  /** The stage's `environment:`; absent when empty. */
  environment?: Record<string, string>;
}

export interface HostCapabilities {
  commands: HostCommand[];
  /** Realpaths outside the project folder the definition may use. */
  paths: string[];
  /** URLs the pipeline POSTs its results to (`pipeline.notify.webhook`, `pipeline.release.notify.webhook`); absent when none. */
  webhooks?: string[];
  /** Read-write bind mounts that cover the project's `.git` (a container could plant hooks that run on the host); absent when none. */
  gitWrites?: string[];
}

type CapabilityModel = Pick<EnvironmentModel, 'pipeline' | 'allowedHostPaths'> & Partial<Pick<EnvironmentModel, 'services' | 'projectDir'>>;

/** What a resolved environment would do on the host (empty when it runs nothing there). */
export function hostCapabilities(model: CapabilityModel): HostCapabilities {
  const commands: HostCommand[] = [];
  const pipeline = model.pipeline;
  for (const stage of ['build', 'integration'] as const) {
    const command = pipeline?.[stage];
    if (command && command.service === undefined) {
      const environment = sortedRecord(command.environment ?? {});
      commands.push({ where: `pipeline.${stage}.run`, argv: command.run.map(String), ...(Object.keys(environment).length > 0 ? { environment } : {}) });
    }
  }
  if (pipeline?.notify?.command) commands.push({ where: 'pipeline.notify.command', argv: pipeline.notify.command.map(String) });
  const webhooks = [pipeline?.notify?.webhook, pipeline?.release?.notify.webhook].filter((url): url is string => typeof url === 'string' && url !== '');
  const gitWrites = model.projectDir && model.services ? gitWritingMounts(model.projectDir, model.services) : [];
  return {
    commands,
    paths: [...(model.allowedHostPaths ?? [])].sort(),
    ...(webhooks.length > 0 ? { webhooks } : {}),
    ...(gitWrites.length > 0 ? { gitWrites } : {}),
  };
}

/**
 * `service "a" mounts /p read-write, covering /p/.git` for each read-write bind mount whose source
 * contains (or is inside) a `.git` of the project folder or one of its parents.
 */
function gitWritingMounts(projectDir: string, services: EnvironmentModel['services']): string[] {
  const gitDirs: string[] = [];
  for (let current = resolvePath(projectDir); ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) gitDirs.push(join(current, '.git'));
    if (dirname(current) === current) break;
  }
  if (gitDirs.length === 0) return [];
  const out: string[] = [];
  for (const service of Object.values(services)) {
    for (const mount of service.mounts) {
      if (mount.type !== 'bind' || !mount.source || mount.readOnly) continue;
      const source = resolvePath(mount.source);
      const covered = gitDirs.find((git) => isUnder(source, git) || isUnder(git, source));
      if (covered) out.push(`service "${service.name}" mounts ${source} read-write at ${mount.target}, covering ${covered} (a container could write git hooks that run on this machine)`);
    }
  }
  return out.sort();
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function isEmpty(capabilities: HostCapabilities): boolean {
  return capabilities.commands.length === 0 && capabilities.paths.length === 0 && !capabilities.webhooks?.length && !capabilities.gitWrites?.length;
}

/** The trust key: the definition's realpath with exactly these commands (and their variables), paths, webhooks and .git writes. */
export function capabilitiesHash(file: string, capabilities: HostCapabilities): string {
  const canonical = JSON.stringify({
    file,
    commands: capabilities.commands.map((command) => (command.environment ? [command.where, command.argv, command.environment] : [command.where, command.argv])),
    paths: capabilities.paths,
    ...(capabilities.webhooks?.length ? { webhooks: capabilities.webhooks } : {}),
    ...(capabilities.gitWrites?.length ? { gitWrites: capabilities.gitWrites } : {}),
  });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * A command as a person would type it (quoted like a shell would need it; it never runs through one).
 * Control characters are shown escaped (`\e`, `\r`, `\x07`): a terminal escape in an argument must
 * not move the cursor or erase the line and so hide what really runs.
 */
export function showArgv(argv: readonly string[], environment?: Readonly<Record<string, string>>): string {
  const assignments = Object.entries(environment ?? {}).map(([name, value]) => `${escapeControls(name)}=${escapeControls(quote([value]))}`);
  return [...assignments, escapeControls(quote([...argv]))].join(' ');
}

/** C0 and C1 control characters (and DEL) made visible. */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    const named: Record<string, string> = { '\u001b': '\\e', '\r': '\\r', '\n': '\\n', '\t': '\\t' };
    return named[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

export function describeCapabilities(capabilities: HostCapabilities): string[] {
  return [
    ...capabilities.commands.map((command) => `${command.where}: ${showArgv(command.argv, command.environment)}`),
    ...capabilities.paths.map((path) => `host path outside the project: ${escapeControls(path)}`),
    ...(capabilities.webhooks ?? []).map((url) => `sends run results (JSON POST) to ${escapeControls(url)}`),
    ...(capabilities.gitWrites ?? []).map(escapeControls),
  ];
}

// ---- the store -------------------------------------------------------------------------------

const storeSchema = z.strictObject({
  version: z.literal(1),
  trusted: z.array(z.strictObject({ file: z.string(), hash: z.string(), trustedAt: z.string(), commands: z.array(z.string()) })),
});
export type TrustStore = z.infer<typeof storeSchema>;

/** `$ENVCTL_TRUST_FILE`, else `$XDG_CONFIG_HOME/envctl/trust.json`, else `~/.config/envctl/trust.json`. */
export function trustStorePath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.ENVCTL_TRUST_FILE) return resolvePath(env.ENVCTL_TRUST_FILE);
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'envctl', 'trust.json');
}

export async function readTrustStore(path: string): Promise<TrustStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, trusted: [] };
    throw new EnvironmentError('TRUST_STORE_UNREADABLE', `cannot read the trust store ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check its permissions');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = storeSchema.safeParse(parsed);
  if (!result.success) {
    // Never guess on a damaged store: nothing is trusted by accident, nothing is overwritten silently.
    throw new EnvironmentError('TRUST_STORE_CORRUPT', `the trust store ${path} is damaged`, 'remove it and trust your definitions again (`envctl trust`)');
  }
  return result.data;
}

/** Written atomically (temp file, fsync, rename), 0600 in a 0700 folder. */
export async function writeTrustStore(path: string, store: TrustStore): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600, fsync: true });
}

/**
 * Read, change and write the store under a lock (proper-lockfile on `<store>.lock`), so two
 * `envctl trust` runs at once never drop each other's entries. Waits up to ~10 s for the lock.
 */
export async function updateTrustStore(path: string, change: (store: TrustStore) => TrustStore): Promise<TrustStore> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let release: () => Promise<void>;
  try {
    release = await lock(path, { realpath: false, stale: 10_000, retries: { retries: 40, factor: 1.3, minTimeout: 20, maxTimeout: 500 } });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    throw new EnvironmentError('TRUST_STORE_LOCKED', `the trust store ${path} is locked by another envctl process`, 'wait for it to finish and try again');
  }
  try {
    const updated = change(await readTrustStore(path));
    await writeTrustStore(path, updated);
    return updated;
  } finally {
    await release();
  }
}

export function isTrusted(store: TrustStore, file: string, hash: string): boolean {
  return store.trusted.some((entry) => entry.file === file && entry.hash === hash);
}

/** Adds (file, hash); earlier hashes of the same file stay (each environment has its own). */
export function withTrust(store: TrustStore, entry: { file: string; hash: string; commands: string[] }, now: Date): TrustStore {
  if (isTrusted(store, entry.file, entry.hash)) return store;
  return { version: 1, trusted: [...store.trusted, { ...entry, trustedAt: now.toISOString() }] };
}

export function withoutFile(store: TrustStore, file: string): TrustStore {
  return { version: 1, trusted: store.trusted.filter((entry) => entry.file !== file) };
}

// ---- when trust is required ----------------------------------------------------------------

export interface TrustRequirement {
  required: boolean;
  /** Why (shown in the refusal), or why not. */
  reason: string;
}

export async function trustRequirement(file: string, env: Readonly<Record<string, string | undefined>>, uid: number | undefined): Promise<TrustRequirement> {
  if (isTruthy(env.ENVCTL_REQUIRE_TRUST)) return { required: true, reason: 'ENVCTL_REQUIRE_TRUST is set' };
  if (isTruthy(env.CI)) return { required: false, reason: 'running in CI (CI is set): the checkout is the code under test' };
  const info = await stat(file);
  if (uid !== undefined && info.uid !== uid) return { required: true, reason: `the file is owned by uid ${info.uid}, not by you (uid ${uid})` };
  const remote = await gitRemote(dirname(file));
  if (remote) return { required: true, reason: `it is in a git clone of ${remote}` };
  return { required: false, reason: 'your own file, not in a git clone' };
}

/** The first remote of the git work tree containing `dir` (undefined: not in one, or no remote). */
export async function gitRemote(dir: string): Promise<string | undefined> {
  for (let current = resolvePath(dir); ; current = dirname(current)) {
    const dotGit = join(current, '.git');
    const info = await stat(dotGit).catch(() => undefined);
    if (info) {
      const configPath = await gitConfigPath(dotGit, info.isDirectory());
      const config = configPath ? await readFile(configPath, 'utf8').catch(() => '') : '';
      const section = /^\s*\[remote\s+"([^"]+)"\]([^[]*)/m.exec(config);
      if (!section) return undefined;
      const url = /^\s*url\s*=\s*(.+?)\s*$/m.exec(section[2] ?? '');
      return url?.[1] ?? section[1];
    }
    if (dirname(current) === current) return undefined;
  }
}

/** `.git/config`, or for a worktree/submodule (`.git` is a file: `gitdir: …`) the common config. */
async function gitConfigPath(dotGit: string, isDirectory: boolean): Promise<string | undefined> {
  if (isDirectory) return join(dotGit, 'config');
  const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, 'utf8').catch(() => ''));
  if (!pointer) return undefined;
  const gitDir = resolvePath(dirname(dotGit), pointer[1]!);
  const common = (await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => '')).trim();
  return join(common ? resolvePath(gitDir, common) : gitDir, 'config');
}

// ---- the gate ------------------------------------------------------------------------------

/** The definition has host commands or outside paths that were not trusted. Exit 2: the user must act (`envctl trust`). */
export class UntrustedDefinitionError extends EnvctlError {
  constructor(
    message: string,
    hint: string,
    readonly commands: string[],
  ) {
    super('UNTRUSTED_DEFINITION', message, { exitCode: ExitCode.badInput, hint });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), commands: this.commands };
  }
}

/**
 * Refuses a model whose host commands or outside paths are not trusted, when trust is required.
 * `display` is the definition path as the user should type it.
 */
export async function assertTrusted(model: CapabilityModel & Pick<EnvironmentModel, 'file'>, options: { env: Readonly<Record<string, string | undefined>>; uid: number | undefined; display: string }): Promise<void> {
  const capabilities = hostCapabilities(model);
  if (isEmpty(capabilities)) return;
  const file = await realpath(model.file);
  const requirement = await trustRequirement(file, options.env, options.uid);
  if (!requirement.required) return;
  const store = await readTrustStore(trustStorePath(options.env));
  if (isTrusted(store, file, capabilitiesHash(file, capabilities))) return;
  const shown = describeCapabilities(capabilities);
  throw new UntrustedDefinitionError(
    `${options.display} is not trusted (${requirement.reason}); it would run on this machine:\n${shown.map((line) => `  ${line}`).join('\n')}`,
    `review them, then run \`envctl trust -f ${options.display}\` (add --yes without a terminal)`,
    shown,
  );
}
