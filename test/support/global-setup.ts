/**
 * Integration and e2e tests need the real engine and the locally built base images (`npm run
 * setup`). Fail at once with what to do if they are missing; after the run, fail if anything a
 * test of this run labelled is still there.
 */
import { randomBytes } from 'node:crypto';
import { BASE_IMAGE, docker, leftovers } from './docker.js';

/**
 * This test run's id: the workers inherit it (ENVCTL_TEST_RUN) and name their projects
 * `envctl-test-<run>-…` (docker.ts), so the leak check below looks at this run's objects only.
 * One per vitest process, kept on globalThis: the faults project's setup calls this one too, and
 * each project may load its own instance of this module.
 */
const RUN_KEY = Symbol.for('envctl.testRun');
let run: string | undefined;

export async function setup(): Promise<void> {
  const holder = globalThis as { [RUN_KEY]?: string };
  run = holder[RUN_KEY] ??= randomBytes(3).toString('hex');
  process.env.ENVCTL_TEST_RUN = run;
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(`integration tests need a running Docker engine (${(error as Error).message}); run \`npm run setup\``);
  }
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    throw new Error(`integration tests need the base image ${BASE_IMAGE}; run \`npm run setup\``);
  }
}

export async function teardown(): Promise<void> {
  if (run === undefined) return;
  const left = await leftovers(`envctl-test-${run}-`);
  if (left.length > 0) throw new Error(`leak check (test run ${run}): test resources survived the suite: ${left.join(', ')}`);
}
