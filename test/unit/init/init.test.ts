import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefinition, validateAllEnvironments } from '../../../src/definition/resolve.js';
import { DefinitionError } from '../../../src/errors.js';
import { httpServices } from '../../../src/init/from-compose.js';
import { initProject, projectNameFromFolder, type InitOptions } from '../../../src/init/init.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-init-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const options = (overrides: Partial<InitOptions>): InitOptions => ({ dir: 'project', cwd: root, name: undefined, ci: 'github', fromCompose: undefined, force: false, processEnv: {}, version: '9.8.7', ...overrides });
const text = (path: string) => readFile(join(root, 'project', path), 'utf8');

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1)).sort();
}

describe('envctl init (the sample project)', () => {
  it('writes a self-contained project whose definition validates in every environment', async () => {
    const result = await initProject(options({ name: 'shop' }));

    expect(result).toMatchObject({ project: 'shop', source: 'sample', ci: 'github', dir: join(root, 'project') });
    expect(result.next).toEqual(['cd project', 'envctl validate', 'envctl up', 'envctl pipeline']);
    const files = await tree(join(root, 'project'));
    expect(files).toEqual(result.files.map((file) => file.path).sort());
    expect(files).toEqual(
      expect.arrayContaining(['envctl.yaml', '.gitignore', 'README.md', '.github/workflows/envctl.yml', 'services/web/Dockerfile', 'services/web/.dockerignore', 'services/web/server.js', 'services/web/src/app.js', 'services/web/test/app.test.js', 'services/web/integration/api.test.js']),
    );
    expect(files.some((path) => path.includes('node_modules') || path === '.gitlab-ci.yml')).toBe(false);
    for (const path of files) expect(await text(path), path).not.toContain('{{envctl.');

    expect(await text('services/web/Dockerfile')).toMatch(/^FROM envctl\/base-node:24$/m);
    expect(JSON.parse(await text('services/web/package.json'))).toMatchObject({ name: 'shop-web' });
    expect(JSON.parse(await text('services/web/package.json')).dependencies).toBeUndefined();

    const models = await validateAllEnvironments({ cwd: join(root, 'project'), processEnv: {} });
    expect(models.map((model) => model.env)).toEqual(['default', 'local', 'ci']);
    const [model] = models;
    expect(model!.project).toBe('shop');
    expect(Object.keys(model!.services)).toEqual(['web', 'cache']);
    expect(model!.services.web!.build?.context).toBe(join(root, 'project/services/web'));
    expect(model!.services.cache!.image).toBe('envctl/base-redis:7');
    const pipeline = model!.pipeline!;
    expect((['build', 'integration', 'perf', 'staging', 'release'] as const).filter((stage) => pipeline[stage] !== undefined)).toEqual(['build', 'integration', 'staging', 'release']);
    expect(model!.pipeline!.release!.service).toBe('web');
  });

  it('names `envctl trust` as a next step in a git clone (outside CI), where the pipeline needs it', async () => {
    await mkdir(join(root, '.git'), { recursive: true });
    await writeFile(join(root, '.git/config'), '[remote "origin"]\n\turl = https://example.com/shop.git\n');
    const local = await initProject(options({ ci: 'none' }));
    expect(local.next).toEqual(['cd project', 'envctl validate', 'envctl up', 'envctl trust', 'envctl pipeline']);
    const ci = await initProject(options({ dir: 'other', ci: 'none', processEnv: { CI: 'true' } }));
    expect(ci.next).toEqual(['cd other', 'envctl validate', 'envctl up', 'envctl pipeline']);
  });

  it('takes the project name from the folder when --name is not given', async () => {
    const result = await initProject(options({ dir: 'My Shop.v2' }));
    expect(result.project).toBe('myshopv2');
    expect(projectNameFromFolder('/x/-dash')).toBe('p-dash');
    expect(projectNameFromFolder('/x/__')).toBe('p__');
    expect(await readFile(join(root, 'My Shop.v2/envctl.yaml'), 'utf8')).toMatch(/^name: myshopv2$/m);
  });

  it('refuses a bad --name before writing anything (exit 2)', async () => {
    await expect(initProject(options({ name: 'Bad Name' }))).rejects.toMatchObject({ code: 'BAD_PROJECT_NAME', exitCode: 2 });
    await expect(readdir(join(root, 'project'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to overwrite, listing only the files that exist, and --force replaces them', async () => {
    await mkdir(join(root, 'project'), { recursive: true });
    await writeFile(join(root, 'project/README.md'), 'mine\n');
    await expect(initProject(options({}))).rejects.toMatchObject({ code: 'INIT_WOULD_OVERWRITE', exitCode: 2, files: ['README.md'] });
    expect(await tree(join(root, 'project'))).toEqual(['README.md']);
    const forced = await initProject(options({ force: true }));
    expect(forced.files.filter((file) => file.action === 'replaced')).toEqual([{ path: 'README.md', action: 'replaced' }]);
    expect(await text('README.md')).toContain('Made by `envctl init`');
  });
});

describe('CI templates', () => {
  it('GitHub Actions: installs this envctl version and runs `envctl pipeline` unchanged, with CI set by the runner', async () => {
    await initProject(options({ ci: 'github' }));
    const workflow = parse(await text('.github/workflows/envctl.yml')) as { on: unknown; env: Record<string, string>; jobs: Record<string, { if?: string; steps: Array<{ run?: string; uses?: string }> }> };
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const runs = steps.flatMap((step) => (step.run ? [step.run] : []));
    expect(workflow.env.ENVCTL_PACKAGE).toBe('envctl@9.8.7');
    // Pull requests from forks would run a stranger's host commands on the runner (CI skips trust).
    expect(Object.values(workflow.jobs).map((job) => job.if)).toEqual([
      "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository",
    ]);
    expect(runs.filter((run) => /^envctl pipeline\b/.test(run))).toEqual(['envctl pipeline --junit reports/envctl.xml']);
    // The base images are built on the runner (debootstrap from Ubuntu's archive; root via the runner's sudo) before the pipeline.
    const lines = runs.flatMap((run) => run.trim().split('\n'));
    expect(lines).toEqual([
      'npm install --global "$ENVCTL_PACKAGE"',
      'sudo apt-get update -q',
      'sudo apt-get install -y -q --no-install-recommends debootstrap debian-archive-keyring',
      'envctl images build',
      'envctl doctor',
      'envctl pipeline --junit reports/envctl.xml',
    ]);
    expect(steps.map((step) => step.uses).filter(Boolean)).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'actions/upload-artifact@v4']);
  });

  it('GitLab CI: the same commands in the job script, the JUnit report collected', async () => {
    await initProject(options({ ci: 'gitlab' }));
    const config = parse(await text('.gitlab-ci.yml')) as Record<string, { script?: string[]; rules?: Array<{ if?: string; when: string }>; artifacts?: { reports?: { junit?: string } } }> & { variables: Record<string, string> };
    expect(config.variables.ENVCTL_PACKAGE).toBe('envctl@9.8.7');
    // Merge requests from forks never run the job (their host commands would run on the runner).
    expect(config.envctl!.rules![0]).toEqual({ if: '$CI_MERGE_REQUEST_SOURCE_PROJECT_ID && $CI_MERGE_REQUEST_SOURCE_PROJECT_ID != $CI_PROJECT_ID', when: 'never' });
    expect(config.envctl!.script).toEqual(['npm install --global "$ENVCTL_PACKAGE"', 'envctl images build', 'envctl doctor', 'envctl pipeline --junit reports/envctl.xml']);
    expect(config.envctl!.artifacts!.reports!.junit).toBe('reports/envctl.xml');
    expect(await tree(join(root, 'project'))).not.toContain('.github/workflows/envctl.yml');
  });

  it('--ci none writes no CI file', async () => {
    const result = await initProject(options({ ci: 'none' }));
    expect(result.files.map((file) => file.path).filter((path) => path.includes('github') || path.includes('gitlab'))).toEqual([]);
  });
});

const COMPOSE = `services:
  web:
    image: envctl/base-node:24
    command: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(3000)"]
    ports: ["127.0.0.1:8080:3000"]
    healthcheck: { test: ["CMD", "curl", "-fsS", "http://127.0.0.1:3000/healthz"], interval: 1s }
    depends_on: { db: { condition: service_healthy } }
  db:
    image: envctl/base-postgres:15
    ports: ["127.0.0.1:5432:5432"]
    volumes: ["dbdata:/var/lib/postgresql/data"]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s }
volumes:
  dbdata: {}
`;

describe('envctl init --from-compose', () => {
  it('includes the Compose file unchanged and adds a pipeline with checks and a release for the HTTP service', async () => {
    await mkdir(join(root, 'project'), { recursive: true });
    await writeFile(join(root, 'project/compose.yaml'), COMPOSE);
    const result = await initProject(options({ fromCompose: 'project/compose.yaml', name: 'legacy', ci: 'none' }));

    expect(result).toMatchObject({ source: 'compose', compose: 'compose.yaml', httpServices: ['web'], project: 'legacy' });
    expect(result.files.map((file) => file.path)).toEqual(['envctl.yaml', 'envctl/smoke.test.mjs']);
    expect(await text('compose.yaml')).toBe(COMPOSE);
    const definition = parse(await text('envctl.yaml')) as Record<string, unknown>;
    expect(definition).toEqual({
      name: 'legacy',
      include: ['compose.yaml'],
      pipeline: {
        build: { run: ['node', '-e', expect.stringContaining('no unit tests yet')] },
        integration: { run: ['node', '--test', 'envctl/smoke.test.mjs'], environment: { ENVCTL_SMOKE_HTTP: 'web' }, timeout: '5m' },
        staging: {
          checks: [{ port: 'web:3000' }, { port: 'db:5432' }, { mount: 'db:/var/lib/postgresql/data', mode: 'rw' }, { http: 'web:/healthz', port: 3000, status: 200 }],
        },
        release: { service: 'web', steps: [10, 25, 50] },
      },
    });
    expect(await text('envctl.yaml')).toMatch(/^# Made by `envctl init --from-compose compose.yaml`/);

    const model = await loadDefinition({ cwd: join(root, 'project'), processEnv: {} });
    expect(model.file).toBe(join(root, 'project/envctl.yaml'));
    expect(model.project).toBe('legacy');
    expect(Object.keys(model.services)).toEqual(['web', 'db']);
    expect(model.pipeline?.release?.service).toBe('web');
  });

  it('leaves the release out when nothing looks like HTTP, and runs npm test when the project has one', async () => {
    await mkdir(join(root, 'project'), { recursive: true });
    await writeFile(join(root, 'project/docker-compose.yml'), 'name: jobs\nservices:\n  cache:\n    image: envctl/base-redis:7\n    ports: ["127.0.0.1:6379:6379"]\n');
    await writeFile(join(root, 'project/package.json'), JSON.stringify({ scripts: { test: 'node --test' } }));
    const result = await initProject(options({ fromCompose: 'project/docker-compose.yml', ci: 'none' }));
    expect(result).toMatchObject({ project: 'jobs', httpServices: [] });
    const definition = parse(await text('envctl.yaml')) as { pipeline: Record<string, { run?: string[] }> };
    expect(Object.keys(definition.pipeline)).toEqual(['build', 'integration', 'staging']);
    expect(definition.pipeline.build!.run).toEqual(['npm', 'test']);
    expect(await text('envctl.yaml')).toContain('No service looks like an HTTP server, so there is no release stage');
  });

  it('reports a bad Compose file as validate does (file:line, exit 2) and writes nothing', async () => {
    await mkdir(join(root, 'project'), { recursive: true });
    await writeFile(join(root, 'project/compose.yaml'), 'services:\n  web:\n    image: envctl/base-node:24\n    healtcheck: { test: ["CMD", "true"] }\n');
    const error = await initProject(options({ fromCompose: 'project/compose.yaml' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionError);
    const [diagnostic] = (error as DefinitionError).diagnostics;
    expect(diagnostic).toMatchObject({ file: 'project/compose.yaml', line: 4, col: 5 });
    expect(diagnostic!.message).toContain('healtcheck');
    expect((error as DefinitionError).exitCode).toBe(2);
    expect(await tree(join(root, 'project'))).toEqual(['compose.yaml']);
  });

  it('refuses a Compose file outside the target folder (envctl reads only files inside it)', async () => {
    await writeFile(join(root, 'compose.yaml'), COMPOSE);
    await expect(initProject(options({ fromCompose: 'compose.yaml' }))).rejects.toMatchObject({ code: 'INIT_COMPOSE_OUTSIDE', exitCode: 2, hint: expect.stringContaining('envctl init . --from-compose compose.yaml') });
    await expect(readdir(join(root, 'project'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a Compose file that is already the envctl.yaml it would write', async () => {
    await mkdir(join(root, 'project'), { recursive: true });
    await writeFile(join(root, 'project/envctl.yaml'), COMPOSE);
    await expect(initProject(options({ fromCompose: 'project/envctl.yaml' }))).rejects.toMatchObject({ code: 'INIT_COMPOSE_IS_DEFINITION', exitCode: 2 });
  });
});

describe('httpServices', () => {
  const model = async (services: string) => {
    await writeFile(join(root, 'c.yaml'), `services:\n${services}`);
    return loadDefinition({ cwd: root, file: 'c.yaml', processEnv: {} });
  };
  it.each([
    ['a published app port', '  app:\n    image: x\n    ports: ["8000:8000"]\n', [{ service: 'app', port: 8000, healthPath: undefined }]],
    ['a healthcheck URL (port and path from it)', '  app:\n    image: x\n    expose: ["9000"]\n    healthcheck: { test: ["CMD-SHELL", "wget -qO- http://localhost:9000/status || exit 1"] }\n', [{ service: 'app', port: 9000, healthPath: '/status' }]],
    ['a database port', '  db:\n    image: x\n    ports: ["5432:5432"]\n', []],
    ['a data store image on an odd port', '  cache:\n    image: redis:7\n    ports: ["7000:7000"]\n', []],
    ['no ports at all', '  worker:\n    image: x\n', []],
  ])('%s', async (_what, services, expected) => {
    expect(httpServices(await model(services)).map(({ reason: _reason, ...rest }) => rest)).toEqual(expected);
  });
});

describe('the Compose smoke test (templates/init/compose)', () => {
  const runSmoke = async (status: number) => {
    const server = createServer((_request, response) => {
      response.statusCode = status;
      response.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await mkdir(join(root, 'project'), { recursive: true });
      await writeFile(join(root, 'project/compose.yaml'), COMPOSE);
      await initProject(options({ fromCompose: 'project/compose.yaml', ci: 'none', force: true }));
      return await execa(process.execPath, ['--test', 'envctl/smoke.test.mjs'], {
        cwd: join(root, 'project'),
        reject: false,
        env: { ENVCTL_PROJECT: 'p', ENVCTL_SMOKE_HTTP: 'web', ENVCTL_URL_WEB: `http://127.0.0.1:${port}`, ENVCTL_HOST_WEB: '127.0.0.1', ENVCTL_PORT_WEB: String(port) },
      });
    } finally {
      server.close();
    }
  };

  it('passes when every published port accepts connections and the HTTP services answer', async () => {
    const run = await runSmoke(404);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.stdout).toContain('web accepts connections');
    expect(run.stdout).toContain('web answers HTTP without a server error');
  });

  it('fails on a server error', async () => {
    const run = await runSmoke(503);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('answered 503');
  });
});
