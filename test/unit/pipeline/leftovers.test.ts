/**
 * Which engine objects `envctl runs gc` takes for a leftover run environment of the project: only
 * labelled `<project>-it|perf|run-<suffix>` objects of this environment whose run id ends with that
 * suffix, and never those of a run whose pipeline process is alive.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../../src/definition/model.js';
import type { Engine } from '../../../src/engine/engine.js';
import { LABEL } from '../../../src/labels.js';
import { findRunLeftovers } from '../../../src/pipeline/leftovers.js';
import { runsDir } from '../../../src/state/runs.js';

let projectDir: string;
beforeAll(async () => {
  projectDir = await mkdtemp(join(tmpdir(), 'envctl-leftovers-'));
});
afterAll(async () => rm(projectDir, { recursive: true, force: true }));

const labels = (project: string, run: string | undefined, env = 'default') => ({ [LABEL.project]: project, [LABEL.env]: env, ...(run ? { [LABEL.run]: run } : {}) });

/** An engine holding these objects; lists filter by the asked labels as the engine does. */
function engineWith(objects: { kind: 'container' | 'network' | 'volume'; name: string; labels: Record<string, string> }[]): Engine {
  const list = (kind: string) => async (wanted: Record<string, string>) =>
    objects.filter((object) => object.kind === kind && Object.entries(wanted).every(([key, value]) => object.labels[key] === value)).map((object) => ({ name: object.name, labels: object.labels }));
  return { listContainers: list('container'), listNetworks: list('network'), listVolumes: list('volume') } as unknown as Engine;
}

async function record(id: string, fields: Record<string, unknown>): Promise<void> {
  await mkdir(join(runsDir(projectDir), id), { recursive: true });
  const base = { version: 1, id, project: 'shop', env: 'default', definition: 'envctl.yaml', ci: false, startedAt: '2026-11-26T10:00:00.000Z', images: {}, stages: [] };
  await writeFile(join(runsDir(projectDir), id, 'record.json'), JSON.stringify({ ...base, ...fields }));
}

describe('findRunLeftovers', () => {
  it('takes only this project’s labelled run environments of this env, and leaves a live run alone', async () => {
    const model = { project: 'shop', env: 'default', projectDir } as EnvironmentModel;
    await record('20261126T100000Z-aaaa', { status: 'running', pid: 4242 });
    await record('20261126T100000Z-bbbb', { status: 'running', pid: 4343 });
    const engine = engineWith([
      { kind: 'container', name: 'shop-it-aaaa-app', labels: labels('shop-it-aaaa', '20261126T100000Z-aaaa') },
      { kind: 'volume', name: 'shop-it-aaaa_data', labels: labels('shop-it-aaaa', '20261126T100000Z-aaaa') },
      { kind: 'network', name: 'shop-perf-bbbb_default', labels: labels('shop-perf-bbbb', '20261126T100000Z-bbbb') },
      // Not ours: the developer environment, another project's run, another env, a run id that does not match, no run label.
      { kind: 'container', name: 'shop-app', labels: labels('shop', undefined) },
      { kind: 'container', name: 'shop-it-it-cccc-app', labels: labels('shop-it-it-cccc', '20261126T100000Z-cccc') },
      { kind: 'container', name: 'shopx-it-dddd-app', labels: labels('shopx-it-dddd', '20261126T100000Z-dddd') },
      { kind: 'container', name: 'shop-it-eeee-app', labels: labels('shop-it-eeee', '20261126T100000Z-eeee', 'ci') },
      { kind: 'container', name: 'shop-it-ffff-app', labels: labels('shop-it-ffff', '20261126T100000Z-0000') },
      { kind: 'container', name: 'shop-it-abcd-app', labels: labels('shop-it-abcd', undefined) },
    ]);
    const found = await findRunLeftovers(model, engine, (pid) => pid === 4343);
    expect(found).toEqual([
      { project: 'shop-it-aaaa', runId: '20261126T100000Z-aaaa', objects: ['container shop-it-aaaa-app', 'volume shop-it-aaaa_data'] },
      { project: 'shop-perf-bbbb', runId: '20261126T100000Z-bbbb', objects: ['network shop-perf-bbbb_default'], skipped: 'run 20261126T100000Z-bbbb is still running (pid 4343)' },
    ]);
  });
});
