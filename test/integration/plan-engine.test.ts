/**
 * `plan` against the real engine: containers, networks and volumes created by hand with envctl's
 * labels are observed, matched and reported exactly as the planner's text says.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../src/definition/model.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { LABEL } from '../../src/labels.js';
import { formatFieldHashes, hashService } from '../../src/plan/hash.js';
import { containerNameFor } from '../../src/plan/plan.js';
import { preparePlan } from '../../src/plan/prepare-plan.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-it-'));
  project = uniqueProject('plan');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

function definition(webLevel: string): string {
  return `
name: ${project}
services:
  web:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    environment: { LEVEL: ${webLevel} }
    volumes: ["data:/data"]
  worker:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
volumes: { data: {} }
`;
}

async function loadModel(yaml: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, processEnv: {} });
}

/** Creates what `up` would create for one service, by hand, with envctl's labels. */
async function createByHand(model: EnvironmentModel, service: string, options: { start: boolean; name?: string }): Promise<void> {
  const spec = model.services[service]!;
  const hash = hashService(spec, spec.image!, model);
  const container = await docker.createContainer({
    name: options.name ?? containerNameFor(model, service),
    Image: spec.image!,
    Cmd: spec.command,
    Labels: {
      [LABEL.project]: model.project,
      [LABEL.env]: model.env,
      [LABEL.service]: service,
      [LABEL.configHash]: hash.configHash,
      [LABEL.fieldHashes]: formatFieldHashes(hash.fields),
    },
    HostConfig: { Init: true },
  });
  if (options.start) await container.start();
}

async function planText(yaml: string, removeOrphans = false): Promise<string[]> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  const { plan } = await preparePlan({ load: { cwd: dir, file, processEnv: {} }, engine: DockerEngine.fromEnv(process.env), removeOrphans });
  return plan.actions.map((action) => `${action.kind} ${action.subject} ${action.name}: ${action.reason}`);
}

describe('plan against the real engine', () => {
  it('creates everything when the engine holds nothing of the environment', async () => {
    expect(await planText(definition('info'))).toEqual([
      `create network ${project}_default: new network`,
      `create volume ${project}_data: new volume`,
      'create service web: new service',
      'create service worker: new service',
    ]);
  });

  it('keeps, starts, recreates and flags orphans from labelled objects created by hand', async () => {
    const model = await loadModel(definition('info'));
    const labels = (key: string, kind: 'network' | 'volume') => ({ [LABEL.project]: project, [LABEL.env]: 'default', [kind === 'network' ? LABEL.network : LABEL.volume]: key });
    await docker.createNetwork({ Name: `${project}_default`, Labels: labels('default', 'network') });
    await docker.createVolume({ Name: `${project}_data`, Labels: labels('data', 'volume') });
    await createByHand(model, 'web', { start: true });
    await createByHand(model, 'worker', { start: false });
    const orphanModel = await loadModel(`${definition('info')}\n`.replace('  worker:', `  old:\n    image: ${BASE_IMAGE}\n  worker:`));
    await createByHand(orphanModel, 'old', { start: false });
    // A container of another project with the same service name is never observed.
    const foreign = uniqueProject('foreign');
    try {
      await docker.createContainer({ name: `${foreign}-web`, Image: BASE_IMAGE, Cmd: ['true'], Labels: { [LABEL.project]: foreign, [LABEL.env]: 'default', [LABEL.service]: 'web' } });

      expect(await planText(definition('info'))).toEqual([
        `keep network ${project}_default: exists`,
        `keep volume ${project}_data: exists`,
        'keep service web: unchanged',
        'start service worker: container is created',
        'orphan service old: not in the definition (--remove-orphans removes it)',
      ]);
      expect(await planText(definition('debug'), true)).toEqual([
        `keep network ${project}_default: exists`,
        `keep volume ${project}_data: exists`,
        'recreate service web: changed: environment',
        'start service worker: container is created',
        'remove service old: orphan: not in the definition',
      ]);
    } finally {
      await removeProject(foreign);
    }
  });

  it('sees the built image once it exists, so the build step disappears', async () => {
    await writeFile(join(dir, 'Dockerfile'), `FROM ${BASE_IMAGE}\n`);
    const yaml = `name: ${project}\nservices:\n  app: { build: ., command: ["true"] }\n`;
    const first = await planText(yaml);
    expect(first[0]).toMatch(new RegExp(`^build image ${project}-app:[0-9a-f]{12}: build inputs changed`));
    const tag = first[0]!.split(' ')[2]!.replace(/:$/, '');
    const [repo, version] = tag.split(':') as [string, string];
    await docker.getImage(BASE_IMAGE).tag({ repo, tag: version });
    try {
      expect((await planText(yaml)).some((line) => line.startsWith('build'))).toBe(false);
    } finally {
      await docker.getImage(tag).remove();
    }
  });
});
