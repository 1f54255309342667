import { access } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { EnvctlCommand } from '../cli/base-command.js';
import { loadDefinition } from '../definition/resolve.js';
import { EnvctlError, ExitCode } from '../errors.js';
import { checkProjectName, CI_PROVIDERS, COMPOSE_FILE_NAMES, initProject, projectNameFromFolder, type CiProvider, type InitResult } from '../init/init.js';
import type { InitQuestion } from '../ui/init-prompts.js';

const DEFAULT_CI: CiProvider = 'github';

export default class InitCommand extends EnvctlCommand {
  static override summary = 'Scaffold a working project: a definition with its pipeline, a sample service, and a CI template that runs `envctl pipeline`.';
  static override description =
    'Writes into DIR (default: this folder) from envctl\'s templates: envctl.yaml (services, pipeline with build, integration, staging and release, environments), a small Node.js web service on Redis built FROM envctl/base-node:24 (no registry, no npm dependencies), and .github/workflows/envctl.yml or .gitlab-ci.yml (--ci). With --from-compose FILE, envctl.yaml instead includes that Compose file unchanged and adds a pipeline guessed from its services (a release stage only when one of them looks like an HTTP server); the file is loaded and checked first, and its errors are reported as `envctl validate` reports them. An existing file is never replaced without --force (exit 2, the files listed, nothing written). On a terminal, the questions the flags leave open are asked; without one (or with CI=true or --json) the defaults apply: the folder\'s name and --ci github.';
  static override examples = [
    '<%= config.bin %> init shop',
    '<%= config.bin %> init --name shop --ci gitlab',
    '<%= config.bin %> init --from-compose docker-compose.yml --ci none',
    '<%= config.bin %> init shop --force --json',
  ];
  static override args = { dir: Args.string({ description: 'folder to scaffold into (created when missing; default: this folder)', required: false }) };
  static override flags = {
    name: Flags.string({ char: 'n', description: 'project name (default: the folder\'s name, or the Compose file\'s project)' }),
    ci: Flags.string({ description: `CI template to write (default on no terminal: ${DEFAULT_CI})`, options: [...CI_PROVIDERS] }),
    'from-compose': Flags.string({ description: 'start from this Compose file instead of the sample service' }),
    force: Flags.boolean({ description: 'replace files that already exist', default: false }),
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(InitCommand);
    const cwd = process.cwd();
    const dir = resolve(cwd, args.dir ?? '.');
    let name = flags.name;
    let ci = flags.ci as CiProvider | undefined;
    let fromCompose = flags['from-compose'];

    if (this.outputMode() === 'tty' && process.stdin.isTTY) {
      const questions = await this.openQuestions(dir, { name, ci, fromCompose });
      if (questions.length > 0) {
        const { askInitQuestions } = await import('../ui/init-prompts.js');
        const answers = await askInitQuestions(questions, { stdin: process.stdin, stderr: process.stderr });
        if (answers === undefined) throw new EnvctlError('CANCELLED', 'init cancelled; nothing was written', { exitCode: ExitCode.cancelled });
        name = answers.name ?? name;
        ci = (answers.ci as CiProvider | undefined) ?? ci;
        if (answers.source !== undefined && answers.source !== 'sample') fromCompose = answers.source;
      }
    }

    const result = await initProject({ dir, cwd, name, ci: ci ?? DEFAULT_CI, fromCompose, force: flags.force, processEnv: process.env, version: this.config.version, uid: process.getuid?.() });
    if (!this.jsonEnabled()) {
      for (const file of result.files) process.stdout.write(`${file.action} ${file.path}\n`);
      const source = result.source === 'sample' ? 'the sample web service on Redis' : `${result.compose} (HTTP: ${result.httpServices?.join(', ') || 'none found, so no release stage'})`;
      process.stderr.write(`init: project ${result.project} from ${source}; CI: ${result.ci}\nnext: ${result.next.join(' && ')}\n`);
    }
    return result;
  }

  /**
   * The questions the flags leave open, in order: where to start (only when a Compose file is here),
   * the project name (its default follows that answer, as without a terminal), the CI.
   */
  private async openQuestions(dir: string, given: { name: string | undefined; ci: string | undefined; fromCompose: string | undefined }): Promise<InitQuestion[]> {
    const questions: InitQuestion[] = [];
    const composeNames = new Map<string, string>();
    if (given.fromCompose === undefined) {
      for (const file of COMPOSE_FILE_NAMES) {
        const path = join(dir, file);
        if (await access(path).then(() => true, () => false)) composeNames.set(path, await composeProjectName(path, dir));
      }
      if (composeNames.size > 0) {
        questions.push({
          id: 'source',
          kind: 'select',
          label: 'Start from',
          options: [...[...composeNames.keys()].map((path) => ({ value: path, label: `${basename(path)} (found here)` })), { value: 'sample', label: 'the sample web service (Node.js on Redis)' }],
        });
      }
    } else {
      composeNames.set('given', await composeProjectName(resolve(process.cwd(), given.fromCompose), dir));
    }
    if (given.name === undefined) {
      questions.push({
        id: 'name',
        kind: 'text',
        label: 'Project name',
        initial: (answers) => composeNames.get(given.fromCompose === undefined ? (answers.source ?? 'sample') : 'given') ?? projectNameFromFolder(dir),
        validate: (value) => checkProjectName(value),
      });
    }
    if (given.ci === undefined) {
      questions.push({
        id: 'ci',
        kind: 'select',
        label: 'CI',
        options: [
          { value: 'github', label: 'GitHub Actions (.github/workflows/envctl.yml)' },
          { value: 'gitlab', label: 'GitLab CI (.gitlab-ci.yml)' },
          { value: 'none', label: 'none' },
        ],
      });
    }
    return questions;
  }
}

/** The project a Compose file names (its `name:`, else its folder), as init would take it; the folder's name when it does not load (init reports why later). */
async function composeProjectName(path: string, dir: string): Promise<string> {
  try {
    return (await loadDefinition({ cwd: dir, file: path, processEnv: process.env, allowPrivileged: true })).project;
  } catch {
    return projectNameFromFolder(dir);
  }
}
