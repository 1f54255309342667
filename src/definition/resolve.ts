/**
 * files → documents → one definition for the chosen environment → typed model.
 * Reads the definition, `.env` and `env_file`s; everything after reading is pure.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { DefinitionError, UsageError, type Diagnostic } from '../errors.js';
import { diagnosticAt, didYouMean, fileLocator, issuesToDiagnostics, type Locator } from './diagnostics.js';
import { interpolateTree, type Variables } from './interpolate.js';
import { DEFAULT_ENV, DEFAULT_NETWORK, type EnvironmentModel, type FileGrant, type FileObjectModel, type NetworkModel, type ServiceModel, type VolumeModel } from './model.js';
import { definitionFileSchema, definitionSchema, environmentsShapeSchema, type ResolvedDefinitionInput } from './schema.js';
import { checkSemantics, profileActive } from './semantics.js';
import { applyFeatureOverrides, withFeatureVariables } from './features.js';
import { overridesFor, readFeatureOverrides } from '../state/feature-overrides.js';
import { allowancesOf, checkInScope, confine, outsideMessage, pathScope, realpathLenient } from './path-scope.js';
import { SECRET_HINT, secretLookingValues } from './secret-lint.js';
import { privilegedSettings } from './privileged.js';
import { defaultOverrideFiles, mergeComposeFiles } from './compose-files.js';
import { resolveExtends, withExtendsProvenance, type ExtendsFile, type ExtendsProvenance } from './extends.js';
import { takeUnsupportedKeys } from './unsupported-keys.js';
import { fileDiagnostic, parseDefinitionText, readDefinitionText, type PathSegment, type SourceFile } from './yaml-source.js';
import { exists } from '../fs-util.js';

/** Looked for in the working directory, then in each parent, like Compose. */
export const DEFINITION_FILE_NAMES = ['envctl.yaml', 'envctl.yml', 'compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export interface LoadOptions {
  cwd: string;
  /** `--file`; otherwise `ENVCTL_FILE`, otherwise the lookup. */
  file?: string | undefined;
  /** `--env`; undefined means the base definition (`default`). */
  env?: string | undefined;
  profiles?: readonly string[];
  /** The process environment (interpolation, `KEY` without a value). */
  processEnv: Readonly<Record<string, string | undefined>>;
  /** `--project-name`; otherwise `ENVCTL_PROJECT_NAME`, otherwise `name:` or the folder. */
  projectName?: string | undefined;
  /** `--allow-privileged`: bind mounts of `/`, `/etc` or the Docker socket are refused without it. */
  allowPrivileged?: boolean | undefined;
  /** `--allow-outside PATH`: host paths outside the project folder the definition may use (relative to `cwd`). */
  allowOutside?: readonly string[] | undefined;
  /** Commands that act on the host (up, pipeline) refuse an untrusted definition here (src/state/trust.ts). */
  checkTrust?: ((model: EnvironmentModel) => Promise<void>) | undefined;
  /** Apply the runtime toggles of `envctl feature` (`.envctl/features.json`); default true. */
  featureOverrides?: boolean | undefined;
  /** More `--file`s, merged over `file` in order like `docker-compose -f a -f b` (paths relative to `cwd`). */
  overrideFiles?: readonly string[] | undefined;
  /** Compose keys envctl cannot run yet: `error` (default: commands that run the definition) or `warn` (validate, plan). */
  unsupportedKeys?: 'error' | 'warn' | undefined;
}

export async function findDefinitionFile(options: Pick<LoadOptions, 'cwd' | 'file' | 'processEnv'>): Promise<string> {
  const explicit = options.file ?? options.processEnv.ENVCTL_FILE;
  if (explicit) return resolvePath(options.cwd, explicit);
  let dir = resolvePath(options.cwd);
  for (;;) {
    for (const name of DEFINITION_FILE_NAMES) {
      const candidate = join(dir, name);
      if (await exists(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new UsageError(
    'NO_DEFINITION',
    `no definition found in ${options.cwd} or its parents (looked for ${DEFINITION_FILE_NAMES.join(', ')})`,
    'pass --file PATH, set ENVCTL_FILE, or create envctl.yaml',
  );
}

interface LoadedFile {
  path: string;
  source: SourceFile;
  raw: Record<string, unknown>;
  dotenv: Record<string, string>;
  /** `x-envctl-allow-paths` as written (relative to the file): host paths outside its folder it may use. */
  allowPaths: string[];
  /** Later Compose files merged over this one (`--file a --file b`, or compose.override.yaml found beside it). */
  overrideSources: SourceFile[];
  /** Where the keys a service got through `extends` were written (error locations). */
  extendsProvenance: ExtendsProvenance;
}

async function loadFile(options: LoadOptions): Promise<LoadedFile> {
  const path = await findDefinitionFile(options);
  const display = displayPath(options.cwd, path);
  const text = await readDefinitionText(path, display);
  const { source, value } = parseDefinitionText(display, text);
  const dotenvPath = join(dirname(path), '.env');
  let dotenv: Record<string, string> = {};
  // The file's own scope (its folder, its allowances, --allow-outside): `.env` and `extends` files are confined before they are read.
  const fileScope = await pathScope(dirname(path), allowancesOf(value, fileLocator(source)).map(expandHome), options.allowOutside ?? [], options.cwd);
  const dotenvConfinement = await confine(fileScope, dotenvPath);
  if (!dotenvConfinement.inside) {
    const { message, hint } = outsideMessage('.env', displayPath(options.cwd, dotenvPath), dotenvConfinement, fileScope);
    throw new DefinitionError([fileDiagnostic(displayPath(options.cwd, dotenvPath), 'PATH_OUTSIDE_PROJECT', message, hint)]);
  }
  if (await exists(dotenvPath)) {
    try {
      dotenv = parseDotenv(await readFile(dotenvPath, 'utf8'));
    } catch (error) {
      throw new DefinitionError([fileDiagnostic(displayPath(options.cwd, dotenvPath), 'DOTENV', `cannot read .env: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'the .env beside the definition must be a readable file')]);
    }
  }
  // `-f a -f b` (or Compose's override file beside a Compose file the lookup found), merged in order; then `extends`.
  const explicit = options.file ?? options.processEnv.ENVCTL_FILE;
  const overridePaths = options.overrideFiles?.length ? options.overrideFiles.map((file) => resolvePath(options.cwd, file)) : explicit ? [] : await defaultOverrideFiles(path);
  let merged = stripExtensions(value, []) as Record<string, unknown>;
  const overrideSources: SourceFile[] = [];
  for (const overridePath of overridePaths) {
    const override = await readExtendsFile(overridePath, options.cwd);
    merged = mergeComposeFiles(merged, override.raw);
    overrideSources.push(override.source);
  }
  const extendsOutside = async (other: string, written: string) => {
    const confinement = await confine(fileScope, other);
    return confinement.inside ? undefined : outsideMessage('the extended file', written, confinement, fileScope);
  };
  const { raw, provenance } = await resolveExtends({ path, source, raw: merged }, (other) => readExtendsFile(other, options.cwd), options.cwd, extendsOutside);
  return { path, source, raw, dotenv, allowPaths: allowancesOf(value, fileLocator(source)), overrideSources, extendsProvenance: provenance };
}

/** Another file named by `extends: {file: …}`: read like a definition, `x-` keys removed. */
async function readExtendsFile(path: string, cwd: string): Promise<ExtendsFile> {
  const display = displayPath(cwd, path);
  const { source, value } = parseDefinitionText(display, await readDefinitionText(path, display));
  return { path, source, raw: stripExtensions(value, []) as Record<string, unknown> };
}

/** Loads and resolves one environment of a definition into the typed model. */
export async function loadDefinition(options: LoadOptions): Promise<EnvironmentModel> {
  const file = await loadFile(options);
  const model = await resolveEnvironment(file, options.env, options, { chain: [file.path] });
  await options.checkTrust?.(model);
  return model;
}

/** Included files nest at most this deep (a cycle is reported before). */
const MAX_INCLUDE_DEPTH = 8;

interface IncludeContext {
  /** Files on the include path so far, outermost first (cycle detection). */
  chain: string[];
  /** True for a file loaded through `include:`. */
  included?: boolean;
  /** Names (project, prefix) imposed by the including file; unset, the file names itself. */
  parent?: { project: string; env: string; prefix: string };
}

/** Validates the base definition and every environment overlay; returns the models of each. */
export async function validateAllEnvironments(options: LoadOptions): Promise<EnvironmentModel[]> {
  const file = await loadFile(options);
  const attempt = (name: string | undefined) => resolveEnvironment(file, name, options, { chain: [file.path] }).catch((error: unknown) => error as Error);
  // Environments declared by the file or by the files it includes (known once the base resolves).
  const base = options.env ? undefined : await attempt(undefined);
  const declared = base && !(base instanceof Error) ? base.environments : environmentNames(file.raw);
  const names = options.env ? [options.env] : [undefined, ...declared];
  const models: EnvironmentModel[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const result = name === undefined && base !== undefined ? base : await attempt(name);
    if (!(result instanceof Error)) {
      models.push(result);
      continue;
    }
    if (!(result instanceof DefinitionError)) throw result;
    for (const diagnostic of result.diagnostics) {
      const id = `${diagnostic.file}:${diagnostic.line}:${diagnostic.col}:${diagnostic.message}`;
      if (!seen.has(id)) {
        seen.add(id);
        diagnostics.push(name ? { ...diagnostic, message: `${diagnostic.message} (environment ${name})` } : diagnostic);
      }
    }
  }
  if (diagnostics.length > 0) throw new DefinitionError(diagnostics);
  return models;
}

function environmentNames(raw: Record<string, unknown>): string[] {
  const environments = raw.environments;
  return environments && typeof environments === 'object' && !Array.isArray(environments) ? Object.keys(environments) : [];
}

async function resolveEnvironment(file: LoadedFile, env: string | undefined, options: LoadOptions, context: IncludeContext): Promise<EnvironmentModel> {
  const { source, raw } = file;
  const baseLocator = withExtendsProvenance(fileLocator(source, undefined, file.overrideSources), [source, ...file.overrideSources], file.extendsProvenance);

  // The shape of `environments:` first; values are checked after interpolation and merging.
  const fileCheck = environmentsShapeSchema.safeParse(raw);
  if (!fileCheck.success) throw new DefinitionError(issuesToDiagnostics(fileCheck.error.issues, baseLocator, definitionFileSchema, raw));

  const declared = environmentNames(raw);
  const { environments: _environments, ...base } = raw;
  let merged: Record<string, unknown> = base;
  let locator: Locator = baseLocator;
  // An included file applies the overlay only if it declares that environment.
  const applyOverlay = env !== undefined && (!context.included || declared.includes(env));
  if (env !== undefined && applyOverlay) {
    if (!declared.includes(env) && !(await anyIncludeDeclares(file, env, options))) {
      const suggestion = didYouMean(env, declared);
      throw new UsageError(
        'UNKNOWN_ENVIRONMENT',
        `the definition has no environment "${env}"`,
        suggestion ? `did you mean --env ${suggestion}?` : declared.length > 0 ? `declared: ${declared.join(', ')}` : 'declare it under `environments:`',
      );
    }
    if (declared.includes(env)) {
      const overlay = (raw.environments as Record<string, unknown>)[env];
      merged = mergeOverlay(base, overlay ?? {}) as Record<string, unknown>;
      locator = withExtendsProvenance(fileLocator(source, ['environments', env], file.overrideSources), [source, ...file.overrideSources], file.extendsProvenance, ['environments', env]);
    }
  }

  const vars: Variables = new Map(
    Object.entries({ ...file.dotenv, ...options.processEnv }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const problems: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const interpolated = interpolateTree(
    merged,
    vars,
    (path, problem) => problems.push(diagnosticAt(locator, path, 'INTERPOLATION', problem.message, problem.hint)),
    (path, name) => warnings.push(diagnosticAt(locator, path, 'UNSET_VARIABLE', `the variable ${name} is not set; using an empty string`, `set ${name} or write \${${name}:-default}`)),
  ) as Record<string, unknown>;
  if (problems.length > 0) throw new DefinitionError(problems);
  // Settings that give a container power over the host are refused by name, before anything else;
  // validate and plan too (exit 2), so they never pass a check that `up` then fails.
  const privileged = privilegedSettings(interpolated, locator);
  if (privileged.length > 0) throw new DefinitionError(privileged);

  // validate/plan name the Compose keys envctl cannot run yet as warnings; the schema refuses them otherwise.
  const tolerated = options.unsupportedKeys === 'warn' ? takeUnsupportedKeys(interpolated, locator) : undefined;
  if (tolerated) warnings.push(...tolerated.diagnostics);
  const parsed = definitionSchema.safeParse(tolerated?.tree ?? interpolated);
  if (!parsed.success) throw new DefinitionError(issuesToDiagnostics(parsed.error.issues, locator, definitionSchema, tolerated?.tree ?? interpolated));
  const input = parsed.data;
  if (input.version !== undefined) {
    warnings.push(diagnosticAt(locator, ['version'], 'OBSOLETE_KEY', '`version` is obsolete and ignored', 'remove it'));
  }

  const projectDir = dirname(file.path);
  const envName = env ?? DEFAULT_ENV;
  const override = context.included ? undefined : checkProjectName(options.projectName ?? options.processEnv.ENVCTL_PROJECT_NAME);
  const includedModels = await resolveIncludes(file, input.include ?? [], env, options, context, locator, override ?? input.name);
  const project = context.parent?.project ?? override ?? input.name ?? (includedModels.length === 1 ? includedModels[0]!.project : projectNameFromDir(projectDir));
  const prefix = context.parent?.prefix ?? (envName === DEFAULT_ENV ? project : `${project}-${envName}`);
  const activeProfiles = new Set(options.profiles ?? splitList(options.processEnv.ENVCTL_PROFILES ?? options.processEnv.COMPOSE_PROFILES));

  const includedServices = new Map(
    includedModels.flatMap((model) => Object.values(model.services).map((service) => [service.name, { hasHealthcheck: service.healthcheck !== undefined && !service.healthcheck.disabled }] as const)),
  );
  const semantic = checkSemantics(input, activeProfiles, locator, includedServices);
  if (semantic.length > 0) throw new DefinitionError(semantic);

  // Null-prototype records: a service, volume or network named `constructor` is just a name.
  const services = dict<ServiceModel>();
  const fileProblems: Diagnostic[] = [];
  const scope = await pathScope(projectDir, file.allowPaths.map(expandHome), options.allowOutside ?? [], options.cwd);
  for (const [name, service] of Object.entries(input.services)) {
    if (!profileActive(service.profiles, activeProfiles)) continue;
    const fromFiles: Record<string, string> = {};
    for (const [index, { path: envFile, required }] of service.env_file.entries()) {
      const path = resolvePath(projectDir, expandHome(envFile));
      // Confined before it is read: an env_file must not pull host secrets (/etc/shadow) into a container.
      const outside = await checkInScope(scope, locator, ['services', name, 'env_file', index], 'env_file', envFile, path);
      if (outside) {
        fileProblems.push(outside);
        continue;
      }
      try {
        Object.assign(fromFiles, parseDotenv(await readFile(path, 'utf8')));
      } catch (error) {
        // Compose's `required: false`: a missing file is skipped (any other read error still counts).
        if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        fileProblems.push(
          diagnosticAt(locator, ['services', name, 'env_file', index], 'ENV_FILE', `cannot read env_file ${envFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check the path; it is relative to the definition file'),
        );
      }
    }
    services[name] = toServiceModel(name, service, projectDir, fromFiles, vars);
    const writtenEnvironment = (merged.services as Record<string, { environment?: unknown } | undefined> | undefined)?.[name]?.environment;
    for (const finding of secretLookingValues(writtenEnvironment, services[name]!.environment)) {
      // Without the source excerpt: the line would repeat the value into logs and --json output.
      const { excerpt: _excerpt, ...warning } = diagnosticAt(locator, ['services', name, 'environment', finding.variable], 'SECRET_IN_ENVIRONMENT', `service "${name}": ${finding.variable} looks like a secret (${finding.reason}); every process in the container and anyone running docker inspect can read it`, SECRET_HINT);
      warnings.push(warning);
    }
    const knownFeatures = new Set([...Object.keys(input.features), ...includedModels.flatMap((model) => Object.keys(model.features))]);
    service.features.forEach((feature, index) => {
      if (knownFeatures.has(feature)) return;
      const suggestion = didYouMean(feature, [...knownFeatures]);
      fileProblems.push(
        diagnosticAt(locator, ['services', name, 'features', index], 'UNKNOWN_FEATURE', `service "${name}" uses the feature "${feature}", which \`features:\` does not declare`, suggestion ? `did you mean \`${suggestion}\`?` : 'declare it under `features:` (name: true|false)'),
      );
    });
    const build = services[name]!.build;
    const outsideBuild = build
      ? (await checkInScope(scope, locator, ['services', name, 'build'], 'the build context', service.build!.context, build.context)) ??
        (await checkInScope(scope, locator, ['services', name, 'build'], 'the Dockerfile', service.build!.dockerfile, resolvePath(build.context, build.dockerfile)))
      : undefined;
    if (outsideBuild) fileProblems.push(outsideBuild);
    else if (build) {
      const problem = await checkBuildContext(build.context, build.dockerfile);
      if (problem) fileProblems.push(diagnosticAt(locator, ['services', name, 'build'], 'BUILD_CONTEXT', problem, 'paths are relative to the definition file'));
    }
    for (const kind of ['secrets', 'configs'] as const) {
      service[kind].forEach((grant, index) => {
        if (!Object.hasOwn(input[kind], grant.source)) {
          const suggestion = didYouMean(grant.source, Object.keys(input[kind]));
          fileProblems.push(diagnosticAt(locator, ['services', name, kind, index], kind === 'secrets' ? 'UNKNOWN_SECRET' : 'UNKNOWN_CONFIG', `service "${name}" uses the ${kind.slice(0, -1)} "${grant.source}", which is not declared`, suggestion ? `did you mean "${suggestion}"?` : `declare it under the top-level \`${kind}:\` with file: PATH`));
        }
      });
    }
    for (const [index, mount] of services[name]!.mounts.entries()) {
      // Privileged paths are refused (or allowed with --allow-privileged) below; a symlink to one is caught here.
      if (mount.type !== 'bind' || !mount.source || privilegedHostPath(mount.source)) continue;
      const real = await realpathLenient(mount.source);
      const privileged = privilegedHostPath(real);
      if (privileged) {
        if (!options.allowPrivileged) {
          fileProblems.push(diagnosticAt(locator, ['services', name, 'volumes', index], 'PRIVILEGED_MOUNT', `service "${name}" mounts ${mount.source}, a symlink to ${real}: ${privileged}`, 'remove the mount, or pass --allow-privileged if you really mean it'));
        }
        continue;
      }
      const outside = await checkInScope(scope, locator, ['services', name, 'volumes', index], 'the bind mount source', service.volumes[index]?.source ?? mount.source, mount.source);
      if (outside) fileProblems.push(outside);
    }
    if (!options.allowPrivileged) {
      services[name]!.mounts.forEach((mount, index) => {
        const reason = mount.type === 'bind' && mount.source ? privilegedHostPath(mount.source) : undefined;
        if (reason) {
          fileProblems.push(
            diagnosticAt(locator, ['services', name, 'volumes', index], 'PRIVILEGED_MOUNT', `service "${name}" mounts ${mount.source}: ${reason}`, 'remove the mount, or pass --allow-privileged if you really mean it'),
          );
        }
      });
    }
  }
  if (fileProblems.length > 0) throw new DefinitionError(fileProblems);

  const volumes = dict<VolumeModel>();
  for (const [key, volume] of Object.entries(input.volumes)) {
    volumes[key] = { key, name: volume.name ?? (volume.external ? key : `${prefix}_${key}`), ...pick(volume, ['driver', 'driverOpts', 'external', 'labels']) };
    // A local-driver volume with `o: bind` and a `device` is a bind mount of a host path in disguise:
    // the same privileged-path and confinement checks as a bind mount, and Docker gets the real path.
    const device = bindDevice(volume.driver, volume.driverOpts);
    if (device !== undefined && !volume.external) {
      const written = resolvePath(projectDir, expandHome(device));
      const real = await realpathLenient(written);
      const reason = privilegedHostPath(written) ?? privilegedHostPath(real);
      if (reason) {
        if (!options.allowPrivileged) {
          fileProblems.push(diagnosticAt(locator, ['volumes', key, 'driver_opts', 'device'], 'PRIVILEGED_MOUNT', `volume "${key}" binds the host path ${device}${real !== written ? ` (${real})` : ''}: ${reason}`, 'remove the volume, or pass --allow-privileged if you really mean it'));
        }
      } else {
        const outside = await checkInScope(scope, locator, ['volumes', key, 'driver_opts', 'device'], 'the bind volume device', device, written);
        if (outside) fileProblems.push(outside);
      }
      volumes[key]!.driverOpts = { ...volume.driverOpts, device: real };
    }
  }
  const fileObjects = { secrets: dict<FileObjectModel>(), configs: dict<FileObjectModel>() };
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [key, object] of Object.entries(input[kind])) {
      const file = resolvePath(projectDir, expandHome(object.file));
      // Confined like every host path (symlinks resolved; allowances apply), then it must be a readable file.
      const outside = await checkInScope(scope, locator, [kind, key, 'file'], `the ${kind.slice(0, -1)} file`, object.file, file);
      const problem = outside ? undefined : await checkReadableFile(file);
      if (outside) fileProblems.push(outside);
      else if (problem) fileProblems.push(diagnosticAt(locator, [kind, key, 'file'], 'FILE_OBJECT', `${kind.slice(0, -1)} "${key}": ${problem}`, 'paths are relative to the definition file'));
      fileObjects[kind][key] = { key, file, labels: object.labels };
    }
  }
  if (fileProblems.length > 0) throw new DefinitionError(fileProblems);
  const networks = dict<NetworkModel>();
  for (const [key, network] of Object.entries(input.networks)) {
    networks[key] = { key, name: network.name ?? (network.external ? key : `${prefix}_${key}`), ...pick(network, ['driver', 'driverOpts', 'external', 'internal', 'attachable', 'labels']) };
  }
  const usesDefault = Object.values(services).some((service) => DEFAULT_NETWORK in service.networks);
  if (usesDefault && !networks[DEFAULT_NETWORK]) {
    networks[DEFAULT_NETWORK] = { key: DEFAULT_NETWORK, name: `${prefix}_${DEFAULT_NETWORK}`, driver: 'bridge', driverOpts: {}, external: false, internal: false, attachable: false, labels: {} };
  }

  const own: EnvironmentModel = {
    project,
    imageProject: project,
    declaredServices: Object.keys(input.services),
    env: envName,
    prefix,
    file: file.path,
    projectDir,
    services,
    volumes,
    networks,
    secrets: fileObjects.secrets,
    configs: fileObjects.configs,
    features: input.features,
    pipeline: input.pipeline,
    pipelineDir: projectDir,
    environments: declared,
    labels: {},
    warnings,
    // Only the file's own allowances: `--allow-outside` paths were typed by the user and need no trust.
    allowedHostPaths: scope.fileAllowances,
    bindPolicy: { roots: scope.roots, allowPrivileged: Boolean(options.allowPrivileged) },
  };
  const model = includedModels.reduce(mergeIncluded, own);
  return context.included ? model : withFeatures(model, options);
}

/**
 * The toplevel model's toggles: the runtime overrides of `envctl feature` applied, then
 * FEATURE_* set on the services that declare each toggle (included files' services too).
 */
async function withFeatures(model: EnvironmentModel, options: LoadOptions): Promise<EnvironmentModel> {
  let features = model.features;
  let featureOverrides: Record<string, boolean> | undefined;
  if (options.featureOverrides !== false) {
    const overrides = overridesFor(await readFeatureOverrides(model.projectDir), model.project, model.env);
    if (Object.keys(overrides).length > 0) {
      const applied = applyFeatureOverrides(model.features, overrides);
      features = applied.features;
      featureOverrides = applied.applied;
    }
  }
  const services = dict<ServiceModel>();
  for (const [name, service] of Object.entries(model.services)) services[name] = withFeatureVariables(service, features);
  return { ...model, features, ...(featureOverrides ? { featureOverrides } : {}), services };
}

/** Resolves each included file as its own model (its folder, its `.env`), named after the including project. */
async function resolveIncludes(
  file: LoadedFile,
  paths: readonly string[],
  env: string | undefined,
  options: LoadOptions,
  context: IncludeContext,
  locator: Locator,
  name: string | undefined,
): Promise<EnvironmentModel[]> {
  if (paths.length === 0) return [];
  const problems: Diagnostic[] = [];
  const models: EnvironmentModel[] = [];
  const projectDir = dirname(file.path);
  const scope = await pathScope(projectDir, file.allowPaths.map(expandHome), options.allowOutside ?? [], options.cwd);
  for (const [index, path] of paths.entries()) {
    const target = resolvePath(projectDir, path);
    const outside = await checkInScope(scope, locator, ['include', index], 'the included file', path, target);
    if (outside) {
      problems.push(outside);
      continue;
    }
    if (context.chain.includes(target)) {
      problems.push(diagnosticAt(locator, ['include', index], 'INCLUDE_CYCLE', `include cycle: ${[...context.chain, target].map((item) => relative(options.cwd, item) || item).join(' -> ')}`, 'remove one of the includes'));
      continue;
    }
    if (context.chain.length >= MAX_INCLUDE_DEPTH) {
      problems.push(diagnosticAt(locator, ['include', index], 'INCLUDE_DEPTH', `includes nest deeper than ${MAX_INCLUDE_DEPTH} files`, undefined));
      continue;
    }
    if (!(await exists(target))) {
      problems.push(diagnosticAt(locator, ['include', index], 'INCLUDE_NOT_FOUND', `cannot read the included file ${path}`, 'paths are relative to the including file'));
      continue;
    }
    const included = await loadFile({ ...options, file: target, overrideFiles: undefined });
    // Names (containers, networks, volumes) follow the including project, so one `up` owns
    // everything; a sole include of a nameless file names the project itself.
    const envName = env ?? DEFAULT_ENV;
    const imposed = name ?? (paths.length === 1 ? undefined : projectNameFromDir(projectDir));
    const parent = context.parent ?? (imposed === undefined ? undefined : { project: imposed, env: envName, prefix: envName === DEFAULT_ENV ? imposed : `${imposed}-${envName}` });
    models.push(await resolveEnvironment(included, env, options, { chain: [...context.chain, target], included: true, ...(parent ? { parent } : {}) }));
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  const seen = new Map<string, string>();
  for (const model of models) {
    for (const service of Object.keys(model.services)) {
      const other = seen.get(service);
      if (other) problems.push(diagnosticAt(locator, ['include'], 'DUPLICATE_SERVICE', `service "${service}" is defined by both ${other} and ${relative(projectDir, model.file)}`, 'rename one of them'));
      seen.set(service, relative(projectDir, model.file));
    }
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  return models;
}

/** Merges an included model into the including one (which wins for features and pipeline). */
function mergeIncluded(into: EnvironmentModel, included: EnvironmentModel): EnvironmentModel {
  return {
    ...into,
    services: Object.assign(dict<ServiceModel>(), included.services, into.services),
    declaredServices: [...new Set([...included.declaredServices, ...into.declaredServices])],
    volumes: Object.assign(dict<VolumeModel>(), included.volumes, into.volumes),
    networks: Object.assign(dict<NetworkModel>(), included.networks, into.networks),
    secrets: Object.assign(dict<FileObjectModel>(), included.secrets, into.secrets),
    configs: Object.assign(dict<FileObjectModel>(), included.configs, into.configs),
    features: { ...included.features, ...into.features },
    pipeline: into.pipeline ?? included.pipeline,
    pipelineDir: into.pipeline ? into.pipelineDir : included.pipeline ? included.pipelineDir : into.pipelineDir,
    environments: [...new Set([...into.environments, ...included.environments])],
    warnings: [...into.warnings, ...included.warnings],
    allowedHostPaths: [...new Set([...(into.allowedHostPaths ?? []), ...(included.allowedHostPaths ?? [])])],
    ...(into.bindPolicy || included.bindPolicy
      ? { bindPolicy: { roots: [...new Set([...(into.bindPolicy?.roots ?? []), ...(included.bindPolicy?.roots ?? [])])], allowPrivileged: Boolean(into.bindPolicy?.allowPrivileged ?? included.bindPolicy?.allowPrivileged) } }
      : {}),
  };
}

async function anyIncludeDeclares(file: LoadedFile, env: string, options: LoadOptions, visited: ReadonlySet<string> = new Set([file.path])): Promise<boolean> {
  const includes = Array.isArray(file.raw.include) ? file.raw.include : [];
  for (const entry of includes) {
    const path = typeof entry === 'string' ? entry : stringValue((entry as Record<string, unknown> | null)?.path);
    if (!path) continue;
    const target = resolvePath(dirname(file.path), path);
    if (visited.has(target) || visited.size > MAX_INCLUDE_DEPTH || !(await exists(target))) continue;
    const included = await loadFile({ ...options, file: target, overrideFiles: undefined });
    if (environmentNames(included.raw).includes(env) || (await anyIncludeDeclares(included, env, options, new Set([...visited, target])))) return true;
  }
  return false;
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function toServiceModel(
  name: string,
  service: ResolvedDefinitionInput['services'][string],
  projectDir: string,
  fromFiles: Record<string, string>,
  vars: Variables,
): ServiceModel {
  const environment: Record<string, string> = { ...fromFiles };
  for (const [key, value] of Object.entries(service.environment)) {
    if (value !== null) environment[key] = value;
    else if (vars.has(key)) environment[key] = vars.get(key)!;
  }
  return {
    name,
    image: service.image,
    build: service.build
      ? { context: resolvePath(projectDir, expandHome(service.build.context)), dockerfile: service.build.dockerfile, args: service.build.args, target: service.build.target }
      : undefined,
    command: service.command ?? undefined,
    entrypoint: service.entrypoint ?? undefined,
    environment,
    ports: service.ports.flat(),
    expose: service.expose,
    mounts: service.volumes.map((mount) =>
      mount.type === 'bind' && mount.source ? { ...mount, source: resolvePath(projectDir, expandHome(mount.source)) } : mount,
    ),
    networks: toDict(service.networks ?? { [DEFAULT_NETWORK]: { aliases: [] } }),
    dependsOn: toDict(service.depends_on),
    healthcheck: service.healthcheck,
    restart: service.restart,
    labels: service.labels,
    workingDir: service.working_dir,
    user: service.user,
    init: service.init,
    stopSignal: service.stop_signal,
    stopGracePeriodMs: service.stop_grace_period,
    profiles: service.profiles,
    features: service.features,
    ...(service.deploy ? { deploy: service.deploy } : {}),
    ...(service.secrets.length > 0 ? { secrets: service.secrets.map((grant) => fileGrant(grant, '/run/secrets')) } : {}),
    ...(service.configs.length > 0 ? { configs: service.configs.map((grant) => fileGrant(grant, '')) } : {}),
  };
}

/** Where a secret or config appears in the container: `target` if absolute, else under `dir` (`/run/secrets` for secrets, `/` for configs). */
function fileGrant(grant: ResolvedDefinitionInput['services'][string]['secrets'][number], dir: string): FileGrant {
  const name = grant.target ?? grant.source;
  return { source: grant.source, target: name.startsWith('/') ? name : `${dir}/${name}`, uid: grant.uid, gid: grant.gid, mode: grant.mode };
}

/** A secret or config file must be a readable file (where it may be is checked by the path scope). */
async function checkReadableFile(file: string): Promise<string | undefined> {
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() ? undefined : `${file} is not a readable file`;
}

/** Overlay semantics: mappings merge key by key, lists and scalars replace, `null` removes. */
export function mergeOverlay(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return overlay;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete out[key];
    else out[key] = Object.hasOwn(out, key) ? mergeOverlay(out[key], value) : value;
  }
  return out;
}

/** Mappings whose keys are user data (names, variables): `x-` keys there are data, not extensions. */
const DATA_MAP_KEYS = new Set(['services', 'volumes', 'networks', 'features', 'environments', 'environment', 'labels', 'args', 'depends_on', 'driver_opts']);

/** Removes `x-*` extension keys from every structural mapping (Compose allows them anywhere there). */
export function stripExtensions(value: unknown, path: PathSegment[]): unknown {
  if (Array.isArray(value)) return value.map((item, index) => stripExtensions(item, [...path, index]));
  if (!isPlainObject(value)) return value;
  const isDataMap = DATA_MAP_KEYS.has(String(path.at(-1))) && !(path.length >= 2 && path.at(-2) === 'environments');
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!isDataMap && key.startsWith('x-')) continue;
    out[key] = stripExtensions(item, [...path, key]);
  }
  return out;
}

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function toDict<T>(record: Record<string, T>): Record<string, T> {
  return Object.assign(dict<T>(), record);
}

function checkProjectName(name: string | undefined): string | undefined {
  if (name === undefined || name === '') return undefined;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new UsageError('BAD_PROJECT_NAME', `invalid project name "${name}"`, 'use lowercase letters, digits, - and _, starting with a letter or digit');
  }
  return name;
}

function projectNameFromDir(dir: string): string {
  const cleaned = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '');
  return /^[a-z0-9]/.test(cleaned) ? cleaned : `p${cleaned || 'roject'}`;
}

function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, object[key]])) as Pick<T, K>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Host paths a container must not get without an explicit opt-in: the whole filesystem, the host's
 * configuration, and the Docker socket (access to it is root on the host).
 */
export function privilegedHostPath(source: string): string | undefined {
  const path = resolvePath(source);
  if (path === '/') return 'the host’s whole filesystem';
  if (path === '/etc' || path.startsWith('/etc/')) return 'the host’s configuration';
  if (/^\/(var\/)?run\/docker\.sock$/.test(path) || path === '/var/run' || path === '/run') return 'the Docker socket gives root on the host';
  return undefined;
}

/** The host path of a local-driver volume mounted with `o: bind` (or rbind), or undefined for any other volume. */
export function bindDevice(driver: string | undefined, driverOpts: Record<string, string> | undefined): string | undefined {
  if (driver !== undefined && driver !== 'local') return undefined;
  const device = driverOpts?.device;
  const options = (driverOpts?.o ?? '').split(',').map((option) => option.trim());
  return device && options.some((option) => option === 'bind' || option === 'rbind') ? device : undefined;
}

async function checkBuildContext(context: string, dockerfile: string): Promise<string | undefined> {
  const contextInfo = await stat(context).catch(() => undefined);
  if (!contextInfo?.isDirectory()) return `the build context ${context} is not a folder`;
  const dockerfileInfo = await stat(resolvePath(context, dockerfile)).catch(() => undefined);
  if (!dockerfileInfo?.isFile()) return `the build context has no ${dockerfile} (${resolvePath(context, dockerfile)})`;
  return undefined;
}
