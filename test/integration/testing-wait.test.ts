/**
 * `startEnvironment({ waitFor })` on the real engine (reliability.md row 14): a log strategy, an
 * HTTP strategy and a port strategy that hold resolve the start; a log strategy and an HTTP strategy
 * that never hold reject it at their timeout with an error naming the service and what was awaited,
 * and leave nothing behind. No timing is asserted: a strategy that ignored its timeout would hang
 * until the test's own timeout.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startEnvironment, type WaitFor } from '../../src/testing/index.js';
import { objectsWith, TEST_PROJECT_PREFIX } from '../support/docker.js';

const SERVER = "console.log('booting'); setTimeout(() => require('node:http').createServer((q, s) => { s.statusCode = q.url === '/healthz' ? 200 : 404; s.end('ok'); }).listen(3000, () => console.log('web ready')), 2000)";
const definition = {
  name: `${TEST_PROJECT_PREFIX}twait`,
  services: { web: { image: 'envctl/base-node:24', command: ['node', '-e', SERVER], ports: ['3000'] } },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-testing-wait-'));
  await writeFile(join(dir, 'envctl.yaml'), JSON.stringify(definition, null, 2));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a start expected to fail; returns its error and checks it left nothing behind (by the labels it reported). */
async function failedStart(waitFor: WaitFor): Promise<Error & { code?: string }> {
  let labels: Record<string, string> | undefined;
  const error = await startEnvironment({ dir, timeout: '60s', reaper: false, waitFor, onEvent: () => undefined }).then(
    async (environment) => {
      labels = environment.labels;
      await environment.stop();
      return undefined;
    },
    (reason: Error & { code?: string }) => reason,
  );
  expect(error, `started although the strategy cannot hold (labels ${JSON.stringify(labels)})`).toBeDefined();
  const project = /^(\S+-test-[0-9a-f]{8}): /.exec(error!.message)?.[1];
  expect(project, error!.message).toBeDefined();
  expect(await objectsWith({ 'dev.envctl.project': project! })).toEqual([]);
  return error!;
}

describe('waitFor', () => {
  it('resolves once a log line, an HTTP answer and a listening port are all there', async () => {
    const environment = await startEnvironment({ dir, timeout: '60s', reaper: false, waitFor: { web: [{ log: /web ready/ }, { http: '/healthz', status: 200 }, { port: 3000 }] } });
    onTestFinished(() => environment.stop());
    expect(await environment.logs('web')).toContain('web ready');
    const response = await fetch(`${environment.url('web')}/healthz`);
    expect(response.status).toBe(200);
  });

  it('a log strategy that never matches times out with an error naming the service and the awaited line', async () => {
    const error = await failedStart({ web: { log: 'database connected', timeout: '3s' } });
    expect(error.code).toBe('NOT_READY');
    expect(error.message).toMatch(/^\S+-test-[0-9a-f]{8}: service web: a log line matching "database connected" did not happen within 3s \(0 of 1 matching line; last log lines: .*web ready/);
  });

  it('an HTTP strategy that never gets its status times out with an error naming the service, the request and the last answer', async () => {
    const error = await failedStart({ web: { http: '/missing', status: 200, timeout: '3s' } });
    expect(error.code).toBe('NOT_READY');
    expect(error.message).toMatch(/^\S+-test-[0-9a-f]{8}: service web: GET \/missing answering 200 did not happen within 3s \(last answer: 404\)/);
  });

  it('refuses a strategy for an unknown service or with no kind before anything starts', async () => {
    await expect(startEnvironment({ dir, reaper: false, waitFor: { db: { port: 5432 } } })).rejects.toMatchObject({ code: 'UNKNOWN_SERVICE', exitCode: 2 });
    await expect(startEnvironment({ dir, reaper: false, waitFor: { web: {} as never } })).rejects.toMatchObject({ code: 'BAD_WAIT_STRATEGY', exitCode: 2 });
  });
});
