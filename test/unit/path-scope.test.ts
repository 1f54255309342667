/**
 * Path confinement: every host path a definition names resolves (symlinks followed) inside the
 * project folder unless allowed explicitly; `../`, absolute paths and symlink escapes are refused
 * with exit 2 and a located diagnostic naming the path and the fix (reliability.md, bad input 36).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, validateAllEnvironments, type LoadOptions } from '../../src/definition/resolve.js';
import { DefinitionError } from '../../src/errors.js';

let root: string;
/** The project folder (the definition's folder). */
let project: string;
/** A folder beside the project: outside it. */
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-paths-'));
  project = join(root, 'project');
  outside = join(root, 'outside');
  await mkdir(join(project, 'web'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(project, 'web', 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(outside, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(outside, 'secret.env'), 'STOLEN=planted-outside-value\n');
  await writeFile(join(outside, 'other.yaml'), 'services:\n  other: { image: other }\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function load(yaml: string, options: Partial<LoadOptions> = {}) {
  const file = join(project, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: project, file, processEnv: {}, ...options });
}

async function refusal(yaml: string, options: Partial<LoadOptions> = {}): Promise<DefinitionError> {
  const error = await load(yaml, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DefinitionError);
  return error as DefinitionError;
}

describe('paths outside the project folder are refused (exit 2, file:line:col, the path and the fix)', () => {
  const cases: Array<{ what: string; setup?: () => Promise<void>; yaml: () => string; line: number; path: string; mentions: string }> = [
    { what: 'a bind mount with ../', yaml: () => 'services:\n  web:\n    image: web\n    volumes: ["../outside:/data"]\n', line: 4, path: 'services.web.volumes[0]', mentions: '../outside' },
    { what: 'an absolute bind mount', yaml: () => `services:\n  web:\n    image: web\n    volumes: ["${outside}:/data"]\n`, line: 4, path: 'services.web.volumes[0]', mentions: '/outside resolves to' },
    { what: 'a long-form bind mount', yaml: () => 'services:\n  web:\n    image: web\n    volumes:\n      - { type: bind, source: ../outside, target: /data }\n', line: 5, path: 'services.web.volumes[0]', mentions: '../outside' },
    {
      what: 'a bind mount through a symlink',
      setup: () => symlink(outside, join(project, 'link')),
      yaml: () => 'services:\n  web:\n    image: web\n    volumes: ["./link:/data"]\n',
      line: 4,
      path: 'services.web.volumes[0]',
      mentions: 'through a symlink',
    },
    {
      what: 'a bind mount through a dangling symlink (Docker would create its target)',
      setup: () => symlink(join(outside, 'not-yet'), join(project, 'dangling')),
      yaml: () => 'services:\n  web:\n    image: web\n    volumes: ["./dangling:/data"]\n',
      line: 4,
      path: 'services.web.volumes[0]',
      mentions: 'outside/not-yet',
    },
    { what: 'an env_file outside', yaml: () => `services:\n  web:\n    image: web\n    env_file: ${join(outside, 'secret.env')}\n`, line: 4, path: 'services.web.env_file[0]', mentions: 'secret.env' },
    {
      what: 'an env_file through a symlink',
      setup: () => symlink(join(outside, 'secret.env'), join(project, 'app.env')),
      yaml: () => 'services:\n  web:\n    image: web\n    env_file: [app.env]\n',
      line: 4,
      path: 'services.web.env_file[0]',
      mentions: 'through a symlink',
    },
    { what: 'a build context outside', yaml: () => 'services:\n  web:\n    build: ../outside\n', line: 3, path: 'services.web.build', mentions: 'the build context ../outside' },
    { what: 'a Dockerfile outside the project', yaml: () => 'services:\n  web:\n    build: { context: ./web, dockerfile: ../../outside/Dockerfile }\n', line: 3, path: 'services.web.build', mentions: 'the Dockerfile ../../outside/Dockerfile' },
    { what: 'an include outside', yaml: () => 'include: [../outside/other.yaml]\nservices:\n  web: { image: web }\n', line: 1, path: 'include[0]', mentions: 'the included file ../outside/other.yaml' },
    {
      what: 'an include through a symlinked folder',
      setup: () => symlink(outside, join(project, 'shared')),
      yaml: () => 'include: [shared/other.yaml]\nservices:\n  web: { image: web }\n',
      line: 1,
      path: 'include[0]',
      mentions: 'through a symlink',
    },
  ];

  cases.push(
    { what: 'a secret file outside', yaml: () => 'secrets:\n  key:\n    file: ../outside/secret.env\nservices:\n  web: { image: web, secrets: [key] }\n', line: 3, path: 'secrets.key.file', mentions: 'the secret file ../outside/secret.env' },
    {
      what: 'a secret file through a symlink',
      setup: () => symlink(join(outside, 'secret.env'), join(project, 'key.txt')),
      yaml: () => 'secrets:\n  key: { file: ./key.txt }\nservices:\n  web: { image: web, secrets: [key] }\n',
      line: 2,
      path: 'secrets.key.file',
      mentions: 'through a symlink',
    },
    { what: 'a config file outside', yaml: () => `configs:\n  app: { file: ${join(outside, 'other.yaml')} }\nservices:\n  web: { image: web, configs: [app] }\n`, line: 2, path: 'configs.app.file', mentions: 'the config file' },
  );

  it.each(cases)('$what', async ({ setup, yaml, line, path, mentions }) => {
    await setup?.();
    const error = await refusal(yaml());
    expect(error.exitCode).toBe(2);
    const diagnostic = error.diagnostics.find((item) => item.code === 'PATH_OUTSIDE_PROJECT');
    expect(diagnostic, JSON.stringify(error.diagnostics)).toMatchObject({ file: expect.stringContaining('envctl.yaml'), line, path });
    expect(diagnostic!.col).toBeGreaterThan(0);
    expect(diagnostic!.message).toContain(mentions);
    expect(diagnostic!.message).toContain('outside the project folder');
    expect(diagnostic!.hint).toMatch(/x-envctl-allow-paths: \[".+"\].*--allow-outside /);
  });

  it('refuses an env_file outside before reading it (its values reach nothing)', async () => {
    const error = await refusal(`services:\n  web:\n    image: web\n    env_file: ${join(outside, 'secret.env')}\n`);
    expect(JSON.stringify(error.toJSON())).not.toContain('planted-outside-value');
  });

  it('refuses paths of every environment overlay, not only the base (validate)', async () => {
    const file = join(project, 'envctl.yaml');
    await writeFile(file, 'services:\n  web: { image: web }\nenvironments:\n  ci:\n    services:\n      web: { volumes: ["../outside:/data"] }\n');
    await expect(validateAllEnvironments({ cwd: project, file, processEnv: {} })).rejects.toMatchObject({ exitCode: 2, diagnostics: [expect.objectContaining({ code: 'PATH_OUTSIDE_PROJECT', line: 6 })] });
  });
});

describe('explicit allowances', () => {
  it('accepts a path listed in x-envctl-allow-paths (relative to the file), and only that one', async () => {
    await mkdir(join(root, 'elsewhere'));
    const model = await load('x-envctl-allow-paths: [../outside]\nservices:\n  web:\n    image: web\n    volumes: ["../outside:/data"]\n    env_file: ../outside/secret.env\n');
    expect(model.services.web!.mounts[0]!.source).toBe(outside);
    expect(model.services.web!.environment.STOLEN).toBe('planted-outside-value');
    const error = await refusal('x-envctl-allow-paths: [../outside]\nservices:\n  web:\n    image: web\n    volumes: ["../elsewhere:/data"]\n');
    expect(error.diagnostics[0]).toMatchObject({ code: 'PATH_OUTSIDE_PROJECT', line: 5 });
  });

  it('accepts a secret file in an allowed folder', async () => {
    const model = await load('x-envctl-allow-paths: [../outside]\nsecrets:\n  key: { file: ../outside/secret.env }\nservices:\n  web: { image: web, secrets: [key] }\n');
    expect(model.secrets?.key?.file).toBe(join(outside, 'secret.env'));
  });

  it('accepts a path given with --allow-outside (relative to the working folder)', async () => {
    const model = await load('services:\n  web:\n    build: ../outside\n', { allowOutside: ['../outside'] });
    expect(model.services.web!.build!.context).toBe(outside);
  });

  it('does not let an allowance reached through a symlink widen to its link target’s parent', async () => {
    await symlink(outside, join(project, 'link'));
    const error = await refusal('x-envctl-allow-paths: [./link/sub]\nservices:\n  web:\n    image: web\n    volumes: ["./link:/data"]\n');
    expect(error.diagnostics[0]).toMatchObject({ code: 'PATH_OUTSIDE_PROJECT' });
  });

  it('refuses an allowance that is not a list of paths', async () => {
    const error = await refusal('x-envctl-allow-paths: ../outside\nservices:\n  web: { image: web }\n');
    expect(error.diagnostics[0]).toMatchObject({ code: 'BAD_ALLOW_PATHS', line: 1 });
  });
});

describe('paths inside the project are untouched', () => {
  it('accepts relative paths, symlinks that stay inside, and a bind source Docker will create', async () => {
    await mkdir(join(project, 'data'));
    await symlink(join(project, 'data'), join(project, 'data-link'));
    await writeFile(join(project, 'web.env'), 'A=1\n');
    const model = await load('services:\n  web:\n    build: ./web\n    env_file: web.env\n    volumes: ["./data-link:/data", "./not-yet/created:/cache", "./web/../data:/d2"]\n');
    expect(model.services.web!.mounts.map((mount) => mount.source)).toEqual([join(project, 'data-link'), join(project, 'not-yet/created'), join(project, 'data')]);
    expect(model.services.web!.environment.A).toBe('1');
  });

  it('catches a symlink to a privileged host path as privileged (needs --allow-privileged, not an allowance)', async () => {
    await symlink('/etc', join(project, 'host-etc'));
    const yaml = 'x-envctl-allow-paths: [/etc]\nservices:\n  web:\n    image: web\n    volumes: ["./host-etc:/host-etc:ro"]\n';
    const error = await refusal(yaml);
    expect(error.diagnostics[0]).toMatchObject({ code: 'PRIVILEGED_MOUNT', line: 5 });
    expect(error.diagnostics[0]!.message).toContain('a symlink to /etc');
    const allowed = await load(yaml, { allowPrivileged: true });
    expect(allowed.services.web!.mounts[0]!.type).toBe('bind');
  });
});
