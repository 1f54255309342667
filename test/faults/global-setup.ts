/**
 * The fault layer's run: a random run id that every fault test's project name carries
 * (`envctl-fault-<run>-…`), so the closing leak check counts only what this run created — other
 * people's test runs on the same engine are never looked at, nor touched.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { setup as integrationSetup } from '../support/global-setup.js';
import { leftoversOf } from './support.js';

let run = '';

export async function setup(project: TestProject): Promise<void> {
  await integrationSetup();
  run = randomBytes(3).toString('hex');
  project.provide('faultsRun', run);
}

export async function teardown(): Promise<void> {
  const left = await leftoversOf(`envctl-fault-${run}-`);
  if (left.length > 0) throw new Error(`leak check (faults run ${run}): labelled resources survived: ${left.join(', ')}`);
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultsRun: string;
  }
}
