/**
 * Guarantees 13 and 34 (reliability.md), pipelines: a pipeline SIGKILLed with its integration
 * environment up leaves a run environment (`<project>-it-<suffix>`, labelled dev.envctl.run) that
 * `envctl down` of the project names and `envctl runs gc` finds by its labels and removes — never
 * the environment of a run whose pipeline is alive. A failed integration stage keeps its
 * environment's logs and container states under .envctl/runs/<id>/integration/, and with
 * ENVCTL_KEEP_FAILED=1 keeps the environment itself, saying how to remove it.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, containersOf, envctlIn, faultProject, labelledOf, leftoversOf, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const project = faultProject('runs');

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('runs'));
  await writeFile(
    join(dir, 'envctl.yaml'),
    `name: ${project}
services:
  app:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "echo hello-from-app; exec sleep infinity"]
    volumes: ["data:/data"]
volumes:
  data: {}
pipeline:
  integration:
    run: ["test", "!", "-e", "fail-now"]
`,
  );
});
afterAll(async () => {
  const runs = await readdir(join(dir, '.envctl', 'runs')).catch(() => [] as string[]);
  for (const run of runs) await removeProject(`${project}-it-${run.slice(-4)}`);
  await cleanup();
});

const newestRun = async () => (await readdir(join(dir, '.envctl', 'runs'))).sort().at(-1)!;

describe('leftover pipeline run environments', () => {
  it('a pipeline killed with its integration environment up: down names it, runs gc removes it by labels (not while its pipeline lives)', async () => {
    const killed = await envctlIn(dir, ['pipeline', '--only', 'integration'], { ENVCTL_FAULT: 'pipeline-after-provision' });
    expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
    const runId = await newestRun();
    const ephemeral = `${project}-it-${runId.slice(-4)}`;
    const left = await labelledOf(ephemeral);
    expect(left.some((entry) => entry.startsWith('container '))).toBe(true);
    expect(left.some((entry) => entry.startsWith('volume '))).toBe(true);
    for (const container of await containersOf(ephemeral)) expect(container.labels[LABEL.run]).toBe(runId);

    // down of the project itself leaves the run's environment alone and says what removes it.
    const down = await envctlIn(dir, ['down']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(String(down.stderr)).toContain(ephemeral);
    expect(String(down.stderr)).toContain('envctl runs gc');
    expect(await labelledOf(ephemeral)).toEqual(left);

    // A run whose pipeline process is alive (here: this test's own pid in its record) is never touched.
    const recordPath = join(dir, '.envctl', 'runs', runId, 'record.json');
    const record = await readFile(recordPath, 'utf8');
    expect(JSON.parse(record)).toMatchObject({ status: 'running', pid: expect.any(Number) });
    await writeFile(recordPath, JSON.stringify({ ...JSON.parse(record), pid: process.pid }));
    const live = await envctlIn(dir, ['runs', 'gc']);
    expect(live.exitCode, String(live.stderr)).toBe(0);
    expect(String(live.stdout)).toContain(`kept ${ephemeral}: run ${runId} is still running`);
    expect(await labelledOf(ephemeral)).toEqual(left);
    await writeFile(recordPath, record);

    const dry = await envctlIn(dir, ['runs', 'gc', '--dry-run']);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(String(dry.stdout)).toContain(`would remove ${ephemeral} (run ${runId})`);
    expect(await labelledOf(ephemeral)).toEqual(left);

    const gc = await envctlIn(dir, ['runs', 'gc']);
    expect(gc.exitCode, String(gc.stderr)).toBe(0);
    expect(String(gc.stdout)).toContain(`removed ${ephemeral} (run ${runId})`);
    expect(await leftoversOf(project)).toEqual([]);
  });

  it('a failed integration stage keeps logs and container states under the run; ENVCTL_KEEP_FAILED=1 keeps the environment, and runs gc removes it', async () => {
    await writeFile(join(dir, 'fail-now'), '');
    try {
      const failed = await envctlIn(dir, ['pipeline', '--only', 'integration'], { ENVCTL_KEEP_FAILED: '1' });
      expect(failed.exitCode, String(failed.stderr)).toBe(1);
      const runId = await newestRun();
      const ephemeral = `${project}-it-${runId.slice(-4)}`;
      const artifacts = join(dir, '.envctl', 'runs', runId, 'integration');
      const output = `${String(failed.stdout)}\n${String(failed.stderr)}`;
      expect(output).toContain(artifacts);
      expect(output).toContain(`kept for inspection: envctl status --project-name ${ephemeral}`);
      expect(output).toContain('envctl runs gc');

      const logs = await readdir(join(artifacts, 'logs'));
      expect(logs).toEqual([`${ephemeral}-app.log`]);
      expect(await readFile(join(artifacts, 'logs', logs[0]!), 'utf8')).toContain('hello-from-app');
      const states = JSON.parse(await readFile(join(artifacts, 'containers.json'), 'utf8')) as Array<{ service: string; status: unknown }>;
      expect(states.map((state) => state.service)).toEqual(['app']);
      expect(JSON.stringify(states[0]!.status)).toContain('running');

      // Kept for inspection: the environment still runs.
      expect((await containersOf(ephemeral)).map((container) => container.state)).toEqual(['running']);
      const gc = await envctlIn(dir, ['runs', 'gc']);
      expect(gc.exitCode, String(gc.stderr)).toBe(0);
      expect(String(gc.stdout)).toContain(`removed ${ephemeral} (run ${runId})`);
      expect(await leftoversOf(project)).toEqual([]);

      // Without the switch, the failed stage's environment goes; its artifacts stay.
      const again = await envctlIn(dir, ['pipeline', '--only', 'integration']);
      expect(again.exitCode, String(again.stderr)).toBe(1);
      const second = await newestRun();
      expect(second).not.toBe(runId);
      expect(await readdir(join(dir, '.envctl', 'runs', second, 'integration', 'logs'))).toHaveLength(1);
      expect(await leftoversOf(project)).toEqual([]);
    } finally {
      await rm(join(dir, 'fail-now'), { force: true });
    }
  });
});
