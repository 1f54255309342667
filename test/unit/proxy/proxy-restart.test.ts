/**
 * What lets a restarted proxy continue: weights.json (written on every admin weight change, before
 * the answer; read at start), a clock that keeps arrival times increasing, and seq continued after
 * the earlier run's records (which only its file holds). Loopback only, the proxy in this process.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { continuedClock, startingWeights, weightsFileOf, writePersistedWeights } from '../../../src/proxy/main.js';
import { useProxyTestResources } from '../../support/proxy-harness.js';

const { dir: tempDir, startHarness } = useProxyTestResources('envctl-proxy-restart-');

const CONFIG = { weights: { canary: 0, baseline: 0, prod: 100 }, step: 0 };

describe('weights.json', () => {
  it('lives beside the request log', () => {
    expect(weightsFileOf('/x/releases/r-1/requests.jsonl.gz')).toBe('/x/releases/r-1/weights.json');
  });

  it('round-trips the weights and step, written 0600 with when they were applied', async () => {
    const path = join(tempDir(), 'weights.json');
    await writePersistedWeights(path, { weights: { canary: 10, baseline: 10, prod: 80 }, step: 2 }, new Date('2025-01-02T03:04:05.000Z'));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ weights: { canary: 10, baseline: 10, prod: 80 }, step: 2, appliedAt: '2025-01-02T03:04:05.000Z' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await startingWeights(CONFIG, path)).toEqual({ weights: { canary: 10, baseline: 10, prod: 80 }, step: 2, from: 'weights.json' });
  });

  it('is optional: without it the config says', async () => {
    expect(await startingWeights({ weights: { canary: 5, baseline: 5, prod: 90 }, step: 1 }, join(tempDir(), 'weights.json'))).toEqual({
      weights: { canary: 5, baseline: 5, prod: 90 },
      step: 1,
      from: 'config',
    });
  });

  it.each([
    ['cut off', '{"weights":{"canary":10,'],
    ['not summing to 100', '{"weights":{"canary":10,"baseline":10,"prod":10},"step":2,"appliedAt":"x"}'],
    ['with an unknown arm', '{"weights":{"canary":10,"baseline":10,"prod":80,"other":0},"step":2,"appliedAt":"x"}'],
    ['with a negative step', '{"weights":{"canary":10,"baseline":10,"prod":80},"step":-1,"appliedAt":"x"}'],
    ['an array', '[]'],
  ])('when unreadable (%s) means stable only, step 0, and says why', async (_what, text) => {
    const path = join(tempDir(), 'weights.json');
    await writeFile(path, text);
    const start = await startingWeights({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 3 }, path);
    expect(start).toMatchObject({ weights: { canary: 0, baseline: 0, prod: 100 }, step: 0, from: 'stable-only' });
    expect(start.problem).toContain(path);
  });
});

describe('continuedClock', () => {
  const fake = (start: bigint) => {
    let now = start;
    return { hrtime: () => now, advance: (ns: bigint) => (now += ns) };
  };

  it('is the plain clock without earlier records', () => {
    const { hrtime } = fake(5n);
    expect(continuedClock(undefined, hrtime)).toBe(hrtime);
  });

  it('is the plain clock when it is already more than 1 s past the latest recorded arrival', () => {
    const { hrtime } = fake(10_000_000_000n);
    expect(continuedClock(8_000_000_000n, hrtime)).toBe(hrtime);
  });

  it.each([
    ['started again (a host reboot)', 3_000_000n],
    ['less than 1 s ahead', 9_500_000_000n],
  ])('is offset past the latest recorded arrival + 1 s when the clock %s', (_case, start) => {
    const { hrtime, advance } = fake(start);
    const clock = continuedClock(9_000_000_000n, hrtime);
    expect(clock()).toBe(10_000_000_000n);
    advance(7n);
    expect(clock()).toBe(10_000_000_007n);
  });
});


function admin(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, method, path }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('PUT /weights with persistWeights', () => {
  it('persists before it applies and answers, one change at a time, in order', async () => {
    const events: string[] = [];
    let release: (() => void) | undefined;
    const { proxy, socketPath } = await startHarness(CONFIG.weights, {
      persistWeights: async ({ weights, step }) => {
        events.push(`persist ${weights.canary}/${step} while ${proxy.weights().canary}`);
        if (release === undefined) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    let answered = false;
    const first = admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 80, step: 1 })).finally(() => (answered = true));
    const second = admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 20, baseline: 20, prod: 60 }));
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    // The first change waits for its persistence: nothing applied, nothing answered, the second waits.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['persist 10/1 while 0']);
    expect(answered).toBe(false);
    expect(proxy.status()).toMatchObject({ weights: CONFIG.weights, step: 0 });
    release();
    expect((await first).json).toMatchObject({ weights: { canary: 10, baseline: 10, prod: 80 }, step: 1 });
    expect((await second).json).toMatchObject({ weights: { canary: 20, baseline: 20, prod: 60 }, step: 1 });
    // The second was persisted only once the first was applied, and took the step in force then.
    expect(events).toEqual(['persist 10/1 while 0', 'persist 20/1 while 10']);
  });

  it('answers 500 and changes nothing when the change cannot be persisted; a later one still goes through', async () => {
    let fail = true;
    const { proxy, socketPath } = await startHarness(CONFIG.weights, {
      persistWeights: async () => {
        if (fail) throw new Error('cannot persist the weights to /x/weights.json: ENOSPC');
      },
    });
    const refused = await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 80, step: 1 }));
    expect(refused).toEqual({ status: 500, json: { error: 'cannot persist the weights to /x/weights.json: ENOSPC' } });
    expect(proxy.status()).toMatchObject({ weights: CONFIG.weights, step: 0 });
    fail = false;
    expect((await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 80, step: 1 }))).status).toBe(200);
    expect(proxy.status()).toMatchObject({ weights: { canary: 10, baseline: 10, prod: 80 }, step: 1 });
  });

  it('never persists invalid weights', async () => {
    const persisted: unknown[] = [];
    const { socketPath } = await startHarness(CONFIG.weights, { persistWeights: async (next) => void persisted.push(next) });
    expect((await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 10 }))).status).toBe(400);
    expect((await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 80, step: -1 }))).status).toBe(400);
    expect(persisted).toEqual([]);
  });
});

describe('a proxy continuing an earlier run', () => {
  it('numbers records after lastSeq, stamps them with its clock, and sends readers of earlier seqs to the file', async () => {
    const base = 50_000_000_000_000n;
    const { proxy, records, socketPath } = await startHarness(CONFIG.weights, { lastSeq: 40, clock: () => base + process.hrtime.bigint() });

    // No record of this run yet: the earlier ones are only in the file.
    expect(await admin(socketPath, 'GET', '/records?after=0')).toMatchObject({ status: 410, json: { oldestSeq: 41 } });
    expect(await admin(socketPath, 'GET', '/records?after=40')).toMatchObject({ status: 200, json: { records: [], lastSeq: 40 } });
    expect(proxy.status().lastSeq).toBe(40);

    for (let i = 0; i < 3; i += 1) await (await fetch(`http://127.0.0.1:${proxy.port}/items`)).text();
    while (records.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(records.map((record) => record.seq)).toEqual([41, 42, 43]);
    for (const record of records) expect(BigInt(record.tMonoNs)).toBeGreaterThan(base);
    expect(await admin(socketPath, 'GET', '/records?after=12')).toMatchObject({ status: 410, json: { oldestSeq: 41 } });
    const page = await admin(socketPath, 'GET', '/records?after=40');
    expect(page.json.records).toEqual(records);
    expect(BigInt(page.json.nowNs as string)).toBeGreaterThan(base);
    const applied = await admin(socketPath, 'PUT', '/weights', JSON.stringify({ canary: 10, baseline: 10, prod: 80 }));
    expect(BigInt(applied.json.appliedNs as string)).toBeGreaterThan(BigInt(records.at(-1)!.tMonoNs));
  });
});
