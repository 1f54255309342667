/**
 * `envctl init`: a working project from `templates/init/`: the sample (a definition with its
 * pipeline and a dependency-free web service on Redis) or, with a Compose file, a definition that
 * includes it and adds the pipeline; plus the CI template that runs `envctl pipeline`.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadDefinition } from '../definition/resolve.js';
import { UsageError } from '../errors.js';
import { trustRequirement } from '../state/trust.js';
import { composeDefinitionText, httpServices } from './from-compose.js';
import { renderTemplateTree, TEMPLATES_DIR, type TemplateFile } from './template.js';
import { writeFiles, type WrittenFile } from './write-files.js';

export const CI_PROVIDERS = ['github', 'gitlab', 'none'] as const;
export type CiProvider = (typeof CI_PROVIDERS)[number];

/** Compose files `init` offers to start from when it finds one in the target folder. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const DEFINITION_FILE = 'envctl.yaml';
const SMOKE_TEST = 'envctl/smoke.test.mjs';

export interface InitOptions {
  /** The folder to scaffold into (created when missing). */
  dir: string;
  /** For relative paths (`--from-compose`) and messages. */
  cwd: string;
  /** `--name`; default: the Compose file's project, else the folder's name. */
  name: string | undefined;
  ci: CiProvider;
  /** `--from-compose FILE`, as given. */
  fromCompose: string | undefined;
  force: boolean;
  processEnv: Readonly<Record<string, string | undefined>>;
  /** envctl's own version, pinned in the CI templates. */
  version: string;
  /** The user's uid (`process.getuid()`), for whether `envctl trust` will be needed; undefined where there is none. */
  uid?: number | undefined;
  templatesDir?: string;
}

export interface InitResult {
  dir: string;
  project: string;
  source: 'sample' | 'compose';
  /** The Compose file the definition includes (relative to `dir`). */
  compose?: string;
  /** HTTP services guessed in the Compose file (the release stage uses the first). */
  httpServices?: string[];
  ci: CiProvider;
  files: WrittenFile[];
  /** What to run next, in order. */
  next: string[];
}

/** A project name from a folder name: lowercase, only the characters a project name allows. */
export function projectNameFromFolder(dir: string): string {
  const cleaned = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '');
  return /^[a-z0-9]/.test(cleaned) ? cleaned : `p${cleaned || 'roject'}`;
}

export function checkProjectName(name: string): string | undefined {
  return PROJECT_NAME.test(name) ? undefined : `invalid project name "${name}": use lowercase letters, digits, - and _, starting with a letter or digit`;
}

/** The files `init` would write, without writing anything. */
export async function planInit(options: InitOptions): Promise<{ project: string; files: TemplateFile[]; compose?: string; httpServices?: string[] }> {
  const templates = join(options.templatesDir ?? TEMPLATES_DIR, 'init');
  const dir = resolve(options.cwd, options.dir);
  if (options.name !== undefined) {
    const problem = checkProjectName(options.name);
    if (problem) throw new UsageError('BAD_PROJECT_NAME', problem, 'e.g. --name shop');
  }
  const ciFiles = async (values: Record<string, string>) => (options.ci === 'none' ? [] : renderTemplateTree(join(templates, 'ci', options.ci), values));

  if (options.fromCompose === undefined) {
    const project = options.name ?? projectNameFromFolder(dir);
    const values = { name: project, version: options.version };
    return { project, files: [...(await renderTemplateTree(join(templates, 'project'), values)), ...(await ciFiles(values))] };
  }

  const composePath = resolve(options.cwd, options.fromCompose);
  if (composePath === join(dir, DEFINITION_FILE)) {
    throw new UsageError('INIT_COMPOSE_IS_DEFINITION', `${options.fromCompose} is already the definition envctl reads (${DEFINITION_FILE})`, 'rename it to compose.yaml, or use it as it is: `envctl validate`');
  }
  const include = relative(dir, composePath).split(sep).join('/');
  if (include.startsWith('../') || isAbsolute(include)) {
    throw new UsageError(
      'INIT_COMPOSE_OUTSIDE',
      `${options.fromCompose} is outside ${dir}: envctl reads only files inside its project folder`,
      `scaffold into the Compose file's folder: \`envctl init ${relative(options.cwd, dirname(composePath)) || '.'} --from-compose ${options.fromCompose}\``,
    );
  }
  // The loader every command uses: a bad file fails here exactly as `envctl validate` reports it.
  const model = await loadDefinition({ cwd: options.cwd, file: composePath, processEnv: options.processEnv, allowPrivileged: true });
  const project = options.name ?? model.project;
  const values = { name: project, version: options.version };
  const definition = composeDefinitionText(model, { name: project, include, buildCommand: await npmTestCommand(dirname(composePath)), smokeTest: SMOKE_TEST });
  return {
    project,
    compose: include,
    httpServices: httpServices(model).map((service) => service.service),
    files: [{ path: DEFINITION_FILE, content: Buffer.from(definition, 'utf8'), mode: 0o644 }, ...(await renderTemplateTree(join(templates, 'compose'), values)), ...(await ciFiles(values))],
  };
}

export async function initProject(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.cwd, options.dir);
  const plan = await planInit(options);
  const files = await writeFiles(dir, plan.files, { force: options.force });
  const into = relative(options.cwd, dir);
  // In a git clone (or with ENVCTL_REQUIRE_TRUST) the pipeline's host commands wait for `envctl
  // trust`, which shows them first: init names the step rather than trusting on the user's behalf.
  const trust = await trustRequirement(join(dir, DEFINITION_FILE), options.processEnv, options.uid);
  const next = [
    ...(into === '' ? [] : [`cd ${into.includes(' ') ? JSON.stringify(into) : into}`]),
    'envctl validate',
    'envctl up',
    ...(trust.required ? ['envctl trust'] : []),
    'envctl pipeline',
  ];
  return {
    dir,
    project: plan.project,
    source: plan.compose === undefined ? 'sample' : 'compose',
    ...(plan.compose === undefined ? {} : { compose: plan.compose, httpServices: plan.httpServices ?? [] }),
    ci: options.ci,
    files,
    next,
  };
}

/** `npm test` when the Compose file's folder has a package.json with a test script. */
async function npmTestCommand(folder: string): Promise<string[] | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as { scripts?: Record<string, unknown> };
    return typeof manifest.scripts?.test === 'string' ? ['npm', 'test'] : undefined;
  } catch {
    return undefined;
  }
}
