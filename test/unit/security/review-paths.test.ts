/**
 * Security review fixes for host-path confinement: bind volumes in disguise (driver_opts o=bind),
 * `.env` through a symlink, `extends: {file:}` outside the project, and `..name` folders.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUnder } from '../../../src/definition/path-scope.js';
import { loadDefinition, type LoadOptions } from '../../../src/definition/resolve.js';
import { DefinitionError } from '../../../src/errors.js';

let root: string;
let project: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envctl-secrev-'));
  project = join(root, 'project');
  outside = join(root, 'outside');
  await mkdir(project, { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'credentials'), 'aws_secret_access_key=planted-outside\n');
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

describe('named volumes with driver_opts o=bind count as bind mounts', () => {
  it('refuses device: /etc as a privileged mount', async () => {
    const error = await refusal('services:\n  a: { image: x, volumes: ["hostetc:/host:ro"] }\nvolumes:\n  hostetc:\n    driver_opts: { type: none, o: bind, device: /etc }\n');
    expect(error.diagnostics.map((d) => d.code)).toContain('PRIVILEGED_MOUNT');
    expect(error.diagnostics[0]!.path).toBe('volumes.hostetc.driver_opts.device');
  });

  it('refuses a device outside the project folder, and accepts it once allowed', async () => {
    const yaml = `services:\n  a: { image: x, volumes: ["data:/data"] }\nvolumes:\n  data:\n    driver_opts: { type: none, o: "rbind,ro", device: ${outside} }\n`;
    const error = await refusal(yaml);
    expect(error.diagnostics.map((d) => d.code)).toEqual(['PATH_OUTSIDE_PROJECT']);
    const model = await load(yaml, { allowOutside: [outside] });
    expect(model.volumes.data!.driverOpts.device).toBe(outside);
  });

  it('hands Docker the real path of a device inside the project reached through a symlink', async () => {
    await mkdir(join(project, 'real-data'));
    await symlink(join(project, 'real-data'), join(project, 'link'));
    const model = await load('services:\n  a: { image: x, volumes: ["data:/data"] }\nvolumes:\n  data:\n    driver_opts: { type: none, o: bind, device: ./link }\n');
    expect(model.volumes.data!.driverOpts.device).toMatch(/real-data$/);
  });

  it('leaves a non-bind local volume alone', async () => {
    const model = await load('services:\n  a: { image: x, volumes: ["data:/data"] }\nvolumes:\n  data:\n    driver_opts: { type: tmpfs, o: size=10m, device: tmpfs }\n');
    expect(model.volumes.data!.driverOpts.device).toBe('tmpfs');
  });
});

describe('.env beside the definition', () => {
  it('is refused when it is a symlink to outside the project, before it is read', async () => {
    await symlink('../outside/credentials', join(project, '.env'));
    const error = await refusal('services:\n  a: { image: x, environment: { LEAK: "${aws_secret_access_key}" } }\n');
    expect(error.diagnostics[0]!.code).toBe('PATH_OUTSIDE_PROJECT');
    expect(JSON.stringify(error.diagnostics)).not.toContain('planted-outside');
  });

  it('is read when the symlink target is allowed', async () => {
    await symlink('../outside/credentials', join(project, '.env'));
    const model = await load('services:\n  a: { image: x, environment: { LEAK: "${aws_secret_access_key}" } }\n', { allowOutside: [outside] });
    expect(model.services.a!.environment.LEAK).toBe('planted-outside');
  });
});

describe('extends: {file:}', () => {
  it('is confined like include: /etc/passwd is refused without reading it', async () => {
    const error = await refusal('services:\n  a:\n    extends: { file: /etc/passwd, service: base }\n    image: x\n');
    expect(error.diagnostics[0]!.code).toBe('PATH_OUTSIDE_PROJECT');
    expect(error.diagnostics[0]!.path).toBe('services.a.extends');
    expect(JSON.stringify(error.diagnostics)).not.toMatch(/root:x:0/);
  });

  it('still works for a file inside the project', async () => {
    await writeFile(join(project, 'common.yaml'), 'services:\n  base: { image: from-base }\n');
    const model = await load('services:\n  a:\n    extends: { file: common.yaml, service: base }\n');
    expect(model.services.a!.image).toBe('from-base');
  });
});

describe('isUnder', () => {
  it('treats a folder named ..data as inside', () => {
    expect(isUnder('/p', '/p/..data/x')).toBe(true);
    expect(isUnder('/p', '/p/..')).toBe(false);
    expect(isUnder('/p', '/q')).toBe(false);
    expect(isUnder('/p', '/p/../q')).toBe(false);
  });
});
