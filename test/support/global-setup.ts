/**
 * Integration and e2e tests need the real engine and the locally built base images (`npm run
 * setup`). Fail at once with what to do if they are missing; after the run, fail if anything a
 * test labelled is still there.
 */
import { BASE_IMAGE, docker, leftovers } from './docker.js';

export async function setup(): Promise<void> {
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
  const left = await leftovers();
  if (left.length > 0) throw new Error(`leak check: test resources survived the suite: ${left.join(', ')}`);
}
