/**
 * Secrets (reliability.md security checklist): a `secrets:` file is mounted at /run/secrets/NAME
 * and its value appears nowhere else. The test plants a random value, runs `up`, a pipeline (a host
 * build command and staging checks), status, logs, plan, validate, runs show (each with --json where
 * it exists), then greps every artifact for it: the CLI outputs, every file under `.envctl/`, the
 * containers' inspect documents (labels, env, Cmd) and every host process's argv.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, docker, envctlIn, faultProject, removeProject, tempDir } from './support.js';

const project = faultProject('secrets');
const PLANTED = `planted-${randomBytes(12).toString('hex')}`;
let folder: Awaited<ReturnType<typeof tempDir>>;
/** Everything the CLI printed, by command. */
const outputs: Array<{ command: string; text: string }> = [];

async function run(args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const result = await envctlIn(folder.dir, args);
  const out = { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  outputs.push({ command: `envctl ${args.join(' ')}`, text: `${out.stdout}\n${out.stderr}` });
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

beforeAll(async () => {
  folder = await tempDir('secrets');
  await mkdir(join(folder.dir, 'secrets'));
  await writeFile(join(folder.dir, 'secrets', 'api_key.txt'), PLANTED);
  await writeFile(
    join(folder.dir, 'envctl.yaml'),
    `name: ${project}
secrets:
  api_key: { file: ./secrets/api_key.txt }
services:
  app:
    image: ${BASE_IMAGE}
    # Proves in its log that the secret is there, without printing it.
    command: ["sh", "-c", "test -s /run/secrets/api_key && echo secret-present; exec sleep 3600"]
    secrets: [api_key]
    environment: { API_KEY_FILE: /run/secrets/api_key }
    healthcheck: { test: ["CMD", "test", "-s", "/run/secrets/api_key"], interval: 1s, retries: 20 }
pipeline:
  build: { run: ["node", "-e", "console.log('build ran')"] }
  staging:
    checks:
      - { file: "app:/run/secrets/api_key" }
      - { command: app, run: ["test", "-s", "/run/secrets/api_key"] }
      - { env: "app:API_KEY_FILE", value: /run/secrets/api_key }
`,
  );
  const up = await run(['up', '--wait-timeout', '60s']);
  expect(up.exitCode, up.stderr).toBe(0);
});

afterAll(async () => {
  await removeProject(project);
  await removeProject(`${project}-staging`);
  await folder?.remove();
});

describe('a planted secret', () => {
  it('is mounted read-only at /run/secrets/NAME (so the greps below can fail: the value is really in use)', async () => {
    const [listed] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=app`] } });
    const container = docker.getContainer(listed!.Id);
    const exec = await container.exec({ Cmd: ['cat', '/run/secrets/api_key'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(Buffer.concat(chunks).toString('latin1')).toContain(PLANTED);
    const info = await container.inspect();
    expect(info.Mounts.find((mount) => mount.Destination === '/run/secrets/api_key')).toMatchObject({ RW: false });
  });

  it('appears in no CLI output: pipeline, status, logs, plan, validate, runs (plain and --json)', async () => {
    const pipeline = await run(['pipeline', '--json', '--wait-timeout', '60s']);
    expect(pipeline.exitCode, pipeline.stdout + pipeline.stderr).toBe(0);
    await run(['pipeline', '--only', 'build']);
    for (const args of [['status'], ['status', '--json'], ['logs'], ['logs', '--json'], ['plan'], ['plan', '--json'], ['validate', '--json'], ['runs', '--json'], ['runs', 'show', 'latest', '--json'], ['export', 'compose']]) {
      await run(args);
    }
    const logs = outputs.find((output) => output.command === 'envctl logs');
    expect(logs?.text, 'the service logged that its secret is present').toContain('secret-present');
    for (const output of outputs) expect(output.text.includes(PLANTED), `${output.command} printed the secret`).toBe(false);
  });

  it('is in no file under .envctl/ (run records, caches, histories)', async () => {
    const files = await filesUnder(join(folder.dir, '.envctl'));
    expect(files.length, 'the pipeline wrote its records').toBeGreaterThan(0);
    for (const file of files) {
      if ((await stat(file)).size > 50 * 1024 * 1024) continue;
      expect((await readFile(file)).includes(PLANTED), `${file} holds the secret`).toBe(false);
    }
  });

  it('is in no container label, environment variable, command or other inspect field', async () => {
    const containers = [
      ...(await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`] } })),
      ...(await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}-staging`] } })),
    ];
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const listed of containers) {
      const info = await docker.getContainer(listed.Id).inspect();
      expect(JSON.stringify(info).includes(PLANTED), `inspect of ${info.Name}`).toBe(false);
    }
  });

  it('is in no host process’s argv', async () => {
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
    let read = 0;
    for (const pid of pids) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(() => undefined);
      if (cmdline === undefined) continue;
      read += 1;
      expect(cmdline.includes(PLANTED), `process ${pid}: ${cmdline.toString().replaceAll('\0', ' ').slice(0, 120)}`).toBe(false);
    }
    expect(read).toBeGreaterThan(10);
  });
});
