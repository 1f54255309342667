/**
 * `deploy:`, `secrets:` and `configs:` on the local target, through the built CLI: resource limits
 * reach the container, secrets and configs are mounted read-only, and what only the swarm target
 * applies is named in a warning.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-deploy-local-'));
  project = uniqueProject('deploy-local');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

describe('deploy: on the local target', () => {
  it('applies resource limits, mounts secrets and configs read-only, and names what it ignores', async () => {
    await writeFile(join(dir, 'token.txt'), 'local-token-value');
    await writeFile(join(dir, 'app.conf'), 'mode=local\n');
    await writeFile(
      join(dir, 'envctl.yaml'),
      `name: ${project}
services:
  app:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    secrets: [token]
    configs: [{ source: app_conf, target: /etc/app.conf }]
    deploy:
      replicas: 3
      update_config: { parallelism: 1 }
      resources: { limits: { cpus: "0.5", memory: 64m, pids: 100 }, reservations: { memory: 32m } }
secrets:
  token: { file: ./token.txt }
configs:
  app_conf: { file: ./app.conf }
`,
    );
    const up = await envctl(['up'], { cwd: dir });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(up.stderr).toContain('warning: service "app": deploy settings ignored by the local target: replicas: 3 (one container locally), update_config; `--target swarm` applies them');

    const [container] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`] } });
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.HostConfig).toMatchObject({ Memory: 64 * 1024 ** 2, NanoCpus: 500_000_000, PidsLimit: 100, MemoryReservation: 32 * 1024 ** 2 });
    expect(info.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: 'bind', Source: join(dir, 'token.txt'), Destination: '/run/secrets/token', RW: false }),
        expect.objectContaining({ Type: 'bind', Source: join(dir, 'app.conf'), Destination: '/etc/app.conf', RW: false }),
      ]),
    );
    const read = await envctl(['exec', 'app', '--', 'cat', '/run/secrets/token', '/etc/app.conf'], { cwd: dir });
    expect(read.stdout).toBe('local-token-valuemode=local');
    const write = await envctl(['exec', 'app', '--', 'sh', '-c', 'echo x > /run/secrets/token'], { cwd: dir });
    expect(write.exitCode).not.toBe(0);

    const again = await envctl(['up', '--json'], { cwd: dir });
    expect(JSON.parse(String(again.stdout))).toMatchObject({ ok: true, changed: false });
  });
});
