/**
 * The demo's full pipeline from the repository root, as CI runs it: unit tests, the integration
 * suite against web + worker + db + cache, perf thresholds, staging checks (certificate, volume
 * mount, …). A second run reuses the images. Under its own project name: your demo is untouched.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const project = uniqueProject('demopipe');
const env = { DEMO_PROJECT: project };

afterAll(async () => {
  for (const suffix of ['-staging', '']) await removeProject(`${project}${suffix}`);
});

describe('the demo pipeline', () => {
  it('passes build → integration → perf → staging, then reuses the unchanged images', async () => {
    const run = await envctl(['pipeline', '--json'], { cwd: ROOT, env });
    const result = JSON.parse(String(run.stdout)) as { status: string; runId: string; record: { stages: Array<{ name: string; status: string; results: Array<{ name: string; status: string; detail?: string }> }> } };
    expect(result.record.stages.map((stage) => `${stage.name}:${stage.status}`)).toEqual(['build:passed', 'integration:passed', 'perf:passed', 'staging:passed', 'release:skipped']);
    expect(run.exitCode).toBe(0);
    const staging = result.record.stages.find((stage) => stage.name === 'staging')!;
    expect(staging.results.map((check) => check.name)).toEqual(
      expect.arrayContaining(['certificate web:/app/certs/tls.pem', 'mount db:/var/lib/postgresql/data', 'port web:3000']),
    );
    // No ephemeral environment of the run is left; staging is long-lived and still runs.
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL.run}=${result.runId}`] } })).toEqual([]);
    expect((await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}-staging`] } })).length).toBe(4);

    const again = await envctl(['pipeline', '--only', 'build', '--json'], { cwd: ROOT, env });
    expect(again.exitCode).toBe(0);
    const images = (JSON.parse(String(again.stdout)) as typeof result).record.stages[0]!.results.filter((entry) => entry.name.startsWith('image '));
    expect(images.map((entry) => `${entry.name}: ${entry.detail?.split(' ')[0]}`)).toEqual(['image web: unchanged', 'image worker: unchanged']);
  });
});
