/**
 * Where a definition may reach on the host: its own folder, plus what is allowed explicitly
 * (`x-envctl-allow-paths:` in the file, `--allow-outside PATH` on the command line). Every host path a
 * definition names (bind sources, build contexts, Dockerfiles, env files, secret and config files,
 * includes) is resolved with symlinks (realpath) and must fall under one of these roots: `../`
 * and symlink escapes are refused before anything is read (the Compose CVE-2025-62725 class).
 */
import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { DefinitionError, type Diagnostic } from '../errors.js';
import { diagnosticAt, type Locator } from './diagnostics.js';
import type { PathSegment } from './yaml-source.js';

/** The definition key listing folders or files outside the project the definition may use (paths relative to the file). */
export const ALLOW_PATHS_KEY = 'x-envctl-allow-paths';

export interface PathScope {
  /** The folder of the definition file (realpath). */
  projectDir: string;
  /** Realpaths under which a path is accepted: the project folder first, then the allowances. */
  roots: string[];
  /**
   * The realpaths the definition allows itself (`x-envctl-allow-paths`): what `envctl trust` covers.
   * `--allow-outside` paths are in `roots` but not here: the user typed them, nothing to trust.
   */
  fileAllowances: string[];
}

export type Confinement = { inside: true; real: string } | { inside: false; real: string; viaSymlink: boolean };

/**
 * Builds the scope of a definition file. `allowances` are as written in the file (relative to its
 * folder, `~` expanded by the caller); `allowOutside` comes from flags (relative to the working folder).
 */
export async function pathScope(projectDir: string, allowances: readonly string[], allowOutside: readonly string[], cwd: string): Promise<PathScope> {
  const realProject = await realpathLenient(projectDir);
  const fileAllowances: string[] = [];
  for (const path of allowances) fileAllowances.push(await realpathLenient(resolvePath(projectDir, path)));
  const flagged: string[] = [];
  for (const path of allowOutside) flagged.push(await realpathLenient(resolvePath(cwd, path)));
  return { projectDir: realProject, roots: [realProject, ...fileAllowances, ...flagged], fileAllowances };
}

/** Whether `path` (absolute, resolved lexically) lands under one of the scope's roots once symlinks are followed. */
export async function confine(scope: PathScope, path: string): Promise<Confinement> {
  const real = await realpathLenient(path);
  if (scope.roots.some((root) => isUnder(root, real))) return { inside: true, real };
  // Lexically inside but really outside: a symlink points out of the project.
  const viaSymlink = scope.roots.some((root) => isUnder(root, resolvePath(path))) || isUnder(scope.projectDir, resolvePath(path));
  return { inside: false, real, viaSymlink };
}

/** The message and hint for a path that leaves the scope; `written` is the path as the definition spells it. */
export function outsideMessage(what: string, written: string, confinement: Extract<Confinement, { inside: false }>, scope: PathScope): { message: string; hint: string } {
  const how = confinement.viaSymlink ? `through a symlink to ${confinement.real}` : `to ${confinement.real}`;
  return {
    message: `${what} ${written} resolves ${how}, outside the project folder ${scope.projectDir}`,
    hint: `keep it inside the project folder, or allow it explicitly: \`${ALLOW_PATHS_KEY}: ["${confinement.real}"]\` at the top of the definition, or \`--allow-outside ${confinement.real}\``,
  };
}

export function isUnder(root: string, path: string): boolean {
  const rel = relative(root, path);
  // `..data` is a name inside root; only `..` itself or `../…` leaves it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * realpath that tolerates missing paths (a bind source Docker creates, a file not written yet):
 * the deepest existing ancestor is resolved and the rest appended.
 */
export async function realpathLenient(path: string, depth = 0): Promise<string> {
  const absolute = resolvePath(path);
  try {
    return await realpath(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    const realParent = await realpathLenient(parent, depth);
    // A dangling symlink counts where it points (Docker would create its target there).
    const link = await readlink(join(realParent, basename(absolute))).catch(() => undefined);
    if (link !== undefined && depth < MAX_SYMLINK_HOPS) return realpathLenient(resolvePath(realParent, link), depth + 1);
    return join(realParent, basename(absolute));
  }
}

/** Symlinks followed through missing targets before giving up (Linux stops at 40). */
const MAX_SYMLINK_HOPS = 40;

/** A `PATH_OUTSIDE_PROJECT` diagnostic at `at` when `resolved` leaves the scope; undefined when it stays inside. */
export async function checkInScope(scope: PathScope, locator: Locator, at: readonly PathSegment[], what: string, written: string, resolved: string): Promise<Diagnostic | undefined> {
  const confinement = await confine(scope, resolved);
  if (confinement.inside) return undefined;
  const { message, hint } = outsideMessage(what, written, confinement, scope);
  return diagnosticAt(locator, at, 'PATH_OUTSIDE_PROJECT', message, hint);
}

/** The allowances of a parsed file (`x-envctl-allow-paths`, before extension keys are stripped); a wrong shape is reported. */
export function allowancesOf(value: unknown, locator: Locator): string[] {
  const raw = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[ALLOW_PATHS_KEY] : undefined;
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw) && raw.every((item): item is string => typeof item === 'string' && item !== '')) return raw;
  throw new DefinitionError([diagnosticAt(locator, [ALLOW_PATHS_KEY], 'BAD_ALLOW_PATHS', `${ALLOW_PATHS_KEY} must be a list of paths`, `e.g. ${ALLOW_PATHS_KEY}: ["../shared", "/srv/data"] (relative to this file)`)]);
}
