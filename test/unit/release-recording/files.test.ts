import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/proxy/types.js';
import { judge } from '../../../src/release/analysis/judge.js';
import { createRequestLogWriter, openEventLog, readRequestLog, writeVerdictFile } from '../../../src/release/recording/files.js';
import { renderVerdictJson } from '../../../src/release/recording/replay.js';
import { releaseConfig, snapshotOf } from '../release/judge-support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-recording-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(seq: number): RequestRecord {
  return {
    seq,
    tMonoNs: String(10n ** 15n + BigInt(seq) * 1_000_000n),
    step: 1 + (seq % 3),
    arm: (['canary', 'baseline', 'prod'] as const)[seq % 3]!,
    routeKey: 'GET /items/:id',
    method: 'GET',
    status: seq % 17 === 0 ? 503 : 200,
    upstreamError: seq % 31 === 0 ? 'reset' : 'none',
    ttfbUs: 900 + seq,
    totalUs: 40_000 + seq,
    bytesOut: 1_024,
    override: seq % 50 === 0,
    mirrored: false,
  };
}

const lines = (records: RequestRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('requests.jsonl.gz', () => {
  it('round-trips through the gzip writer and reader', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    const records = Array.from({ length: 5_000 }, (_, i) => record(i));
    const writer = createRequestLogWriter(path);
    for (const r of records) await writer.write(r);
    await writer.close();
    expect(await readRequestLog(path)).toEqual({ records, truncated: null, incompleteGzip: false });
  });

  it('reads what a flushed writer left before a crash (no gzip trailer)', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    const writer = createRequestLogWriter(path);
    for (let i = 0; i < 10; i++) await writer.write(record(i));
    await writer.flush();
    // The flushed bytes reach the file through the write stream asynchronously.
    let log = await readRequestLog(path);
    for (let tries = 0; log.records.length < 10 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      log = await readRequestLog(path);
    }
    expect(log.records).toHaveLength(10);
    expect(log.truncated).toBeNull();
    expect(log.incompleteGzip).toBe(true);
    await writer.close();
  });

  it('reports a truncated last line and keeps the complete ones', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    const records = [record(1), record(2)];
    await writeFile(path, gzipSync(`${lines(records)}{"seq":3,"tMonoNs":"10`));
    expect(await readRequestLog(path)).toEqual({ records, truncated: { line: 3, text: '{"seq":3,"tMonoNs":"10' }, incompleteGzip: false });
  });

  it('keeps a complete last record that lacks only its newline', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    await writeFile(path, gzipSync(JSON.stringify(record(4))));
    expect((await readRequestLog(path)).records).toEqual([record(4)]);
  });

  it('tolerates a gzip stream cut off mid-file', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    const records = Array.from({ length: 2_000 }, (_, i) => record(i));
    const whole = gzipSync(lines(records));
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const log = await readRequestLog(path);
    expect(log.incompleteGzip).toBe(true);
    expect(log.records.length).toBeGreaterThan(0);
    expect(log.records).toEqual(records.slice(0, log.records.length));
  });

  it('throws on a damaged line in the middle, naming it', async () => {
    const path = join(dir, 'requests.jsonl.gz');
    await writeFile(path, gzipSync(`${lines([record(1)])}{"seq":"x"}\n${lines([record(2)])}`));
    await expect(readRequestLog(path)).rejects.toMatchObject({ code: 'RECORDING_CORRUPT', message: expect.stringContaining(':2:') });
  });
});

describe('events.jsonl', () => {
  it('appends one sorted-key JSON object per line, in call order, across reopenings', async () => {
    const path = join(dir, 'events.jsonl');
    const log = await openEventLog(path);
    await Promise.all([
      log.append({ seq: 1, event: 'step', step: 1, weight: 10 }),
      log.append({ seq: 2, event: 'rollback', sprt: { theta: 3, pi: 0.5 }, analysed: { canary: 612, baseline: 608 } }),
    ]);
    await log.close();
    const again = await openEventLog(path);
    await again.append({ seq: 3, event: 'rolled-back' });
    await again.close();
    expect(await readFile(path, 'utf8')).toBe(
      '{"event":"step","seq":1,"step":1,"weight":10}\n' +
        '{"analysed":{"baseline":608,"canary":612},"event":"rollback","seq":2,"sprt":{"pi":0.5,"theta":3}}\n' +
        '{"event":"rolled-back","seq":3}\n',
    );
  });

  it('fails with a typed error when the folder is missing', async () => {
    await expect(openEventLog(join(dir, 'missing', 'events.jsonl'))).rejects.toMatchObject({ code: 'STATE_WRITE' });
  });
});

describe('verdict.json', () => {
  it('is written atomically as the replay renders it', async () => {
    const path = join(dir, 'verdict.json');
    const config = releaseConfig();
    const verdicts = [judge(snapshotOf(), config, config.steps.length)];
    await writeVerdictFile(path, verdicts);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(renderVerdictJson(verdicts));
    expect(text.endsWith('}\n]\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(verdicts)));
  });
});
