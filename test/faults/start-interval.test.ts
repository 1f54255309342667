/**
 * Guarantee 10 (reliability.md), healthcheck semantics: `start_interval` is honoured on an engine
 * that ignores it (dockerd 20.10, API 1.41; HealthConfig.StartInterval came with API 1.44). The
 * healthcheck's `interval` is 5 minutes, so the engine's first probe is 5 minutes away: `up` can
 * only finish within this test's timeout (90 s, far below 5 min) because envctl runs the probe
 * itself every `start_interval` during `start_period`. The engine's own status is still `starting`
 * with no probe logged when `up` exits: the pass was envctl's. A probe that never passes still
 * ends in the usual wait-timeout error, and its dependant is never started. (`start_interval`
 * without `start_period` is a validation error: test/unit/definition-errors.test.ts.)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, docker, envctlIn, faultProject, removeProject, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
const passing = faultProject('startint');
const failing = faultProject('startintfail');
const hanging = faultProject('startinthang');

const definition = (project: string, test: string, startPeriod: string) => `name: ${project}
services:
  slow:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    healthcheck: { test: ${test}, interval: 5m, timeout: 1s, retries: 3, start_period: ${startPeriod}, start_interval: 1s }
  dependant:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    depends_on: { slow: { condition: service_healthy } }
`;

async function container(project: string, service: string) {
  const [found] = await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=${service}`] } });
  return found;
}

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir('startint'));
  await writeFile(join(dir, 'passing.yaml'), definition(passing, '["CMD", "true"]', '20s'));
  await writeFile(join(dir, 'failing.yaml'), definition(failing, '["CMD", "false"]', '3s'));
  await writeFile(join(dir, 'hanging.yaml'), definition(hanging, '["CMD", "sleep", "3600"]', '3s'));
});
afterAll(async () => {
  await removeProject(passing);
  await removeProject(failing);
  await removeProject(hanging);
  await cleanup();
});

describe('start_interval on an engine older than API 1.44', () => {
  it('is run by envctl: up exits 0 and the service_healthy dependant starts long before the 5-minute interval', async () => {
    const up = await envctlIn(dir, ['up', '-f', 'passing.yaml', '--wait-timeout', '60s'], {}, 90_000);
    expect(up.exitCode, `${String(up.stderr)}${up.timedOut ? '\n(timed out: start_interval was not honoured)' : ''}`).toBe(0);
    expect(String(up.stderr)).toMatch(/slow\s+healthy/);

    const dependant = await container(passing, 'dependant');
    expect(dependant?.State).toBe('running');
    // The engine has not probed yet (its first probe is one interval, 5 minutes, after start): the passing probe was envctl's.
    const slow = await docker.getContainer((await container(passing, 'slow'))!.Id).inspect();
    expect(slow.State.Health?.Status).toBe('starting');
    expect(slow.State.Health?.Log ?? []).toEqual([]);
    // `envctl status` says why the engine still reports `starting`.
    const status = await envctlIn(dir, ['status', '-f', 'passing.yaml', '--json']);
    const rows = (JSON.parse(String(status.stdout)) as { services: Array<{ service: string; health: string }> }).services;
    expect(rows.find((row) => row.service === 'slow')?.health).toMatch(/^starting \(engine API 1\.\d+ ignores start_interval: its first probe is one interval after start\)$/);
  }, 100_000);

  it('still ends in the wait-timeout error when the probe never passes; the dependant is never started', async () => {
    const up = await envctlIn(dir, ['up', '-f', 'failing.yaml', '--wait-timeout', '8s'], {}, 90_000);
    expect(up.exitCode, String(up.stderr)).toBe(1);
    expect(String(up.stderr)).toMatch(/slow: not healthy after 8s \(state running, health starting\)/);
    const dependant = await container(failing, 'dependant');
    expect(dependant === undefined || dependant.State === 'created').toBe(true);
  }, 100_000);

  it('a probe that hangs counts as failed at its timeout and does not keep the CLI alive after the wait-timeout error', async () => {
    // Were envctl to wait for the probe's stream (an hour), the test's 60 s timeout would be the failure.
    const up = await envctlIn(dir, ['up', '-f', 'hanging.yaml', '--wait-timeout', '6s'], {}, 60_000);
    expect(up.timedOut, 'the CLI did not exit: a hung probe kept it alive').toBe(false);
    expect(up.exitCode, String(up.stderr)).toBe(1);
    expect(String(up.stderr)).toMatch(/slow: not healthy after 6s \(state running, health starting\)/);
  }, 70_000);
});
