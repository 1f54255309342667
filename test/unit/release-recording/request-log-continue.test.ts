/**
 * `requests.jsonl.gz` across proxy restarts: one gzip member per run, read as one text; where an
 * earlier run's records end (seq, arrival time); and a continuing writer that never glues a cut-off
 * line to the next run's first one nor puts a cut-off deflate stream in front of its member.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/proxy/types.js';
import { createRequestLogWriter, openRequestLogWriter, readRequestLog, readRequestLogEnd } from '../../../src/release/recording/files.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-recording-continue-'));
  path = join(dir, 'requests.jsonl.gz');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(seq: number, tMonoNs = 10n ** 15n + BigInt(seq) * 1_000_000n): RequestRecord {
  return {
    seq,
    tMonoNs: String(tMonoNs),
    step: 1,
    arm: (['canary', 'baseline', 'prod'] as const)[seq % 3]!,
    routeKey: 'GET /items/:id',
    method: 'GET',
    status: 200,
    upstreamError: 'none',
    ttfbUs: 900 + seq,
    totalUs: 40_000 + seq,
    bytesOut: 1_024,
    override: false,
    mirrored: false,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => record(from + i));
const lines = (records: RequestRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

async function append(records: RequestRecord[]): Promise<void> {
  const writer = await openRequestLogWriter(path);
  for (const r of records) await writer.write(r);
  await writer.close();
}

describe('reading a file of several gzip members', () => {
  it('reads every complete member, in order', async () => {
    await writeFile(path, Buffer.concat([gzipSync(lines(range(1, 300))), gzipSync(lines(range(301, 310))), gzipSync(lines(range(311, 311)))]));
    expect(await readRequestLog(path)).toEqual({ records: range(1, 311), truncated: null, incompleteGzip: false });
  });

  it.each([
    ['in its header', 6],
    ['in its data', 0.5],
    ['in its trailer', -4],
  ])('reads complete members and what it can of a last one cut off %s', async (_where, cut) => {
    const last = gzipSync(lines(range(201, 400)));
    const end = cut < 0 ? last.length + cut : cut < 1 ? Math.floor(last.length * cut) : cut;
    await writeFile(path, Buffer.concat([gzipSync(lines(range(1, 100))), gzipSync(lines(range(101, 200))), last.subarray(0, end)]));
    const log = await readRequestLog(path);
    expect(log.incompleteGzip).toBe(true);
    expect(log.records.length).toBeGreaterThanOrEqual(200);
    expect(log.records).toEqual(range(1, log.records.length));
    if (cut === -4) expect(log.records).toHaveLength(400);
  });
});

describe('readRequestLogEnd', () => {
  it('is undefined without a file', async () => {
    expect(await readRequestLogEnd(path)).toBeUndefined();
  });

  it('gives the highest seq and the latest arrival, which need not be the last record (finish order)', async () => {
    const slow = record(2, 10n ** 15n + 9_000_000_000n);
    await writeFile(path, gzipSync(`${lines([record(1), record(3), slow, record(4)])}{"seq":5,"tM`));
    expect(await readRequestLogEnd(path)).toEqual({ records: 4, lastSeq: 4, maxTMonoNs: 10n ** 15n + 9_000_000_000n });
  });

  it('has no arrival for a file without records', async () => {
    await writeFile(path, gzipSync(''));
    expect(await readRequestLogEnd(path)).toEqual({ records: 0, lastSeq: 0, maxTMonoNs: undefined });
  });
});

describe('openRequestLogWriter', () => {
  it('creates a missing file', async () => {
    await append(range(1, 3));
    expect(await readRequestLog(path)).toEqual({ records: range(1, 3), truncated: null, incompleteGzip: false });
  });

  it('appends a member after a closed file without rewriting it', async () => {
    const writer = createRequestLogWriter(path);
    for (const r of range(1, 50)) await writer.write(r);
    await writer.close();
    const before = await readFile(path);

    await append(range(51, 60));
    const after = await readFile(path);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(await readRequestLog(path)).toEqual({ records: range(1, 60), truncated: null, incompleteGzip: false });
  });

  it('closes a member cut off mid-line first: the fragment goes, the next run starts on a line of its own', async () => {
    const whole = gzipSync(lines(range(1, 2_000)));
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const cut = await readRequestLog(path);
    expect(cut.incompleteGzip).toBe(true);
    expect(cut.truncated).not.toBeNull();
    const kept = cut.records.length;

    await append(range(kept + 1, kept + 5));
    expect(await readRequestLog(path)).toEqual({ records: range(1, kept + 5), truncated: null, incompleteGzip: false });
  });

  it('ends a complete last line that lacks its newline before appending', async () => {
    await writeFile(path, gzipSync(`${lines(range(1, 2))}${JSON.stringify(record(3))}`));
    await append(range(4, 5));
    expect(await readRequestLog(path)).toEqual({ records: range(1, 5), truncated: null, incompleteGzip: false });
  });

  it('continues what a killed writer left after its last flush, over several restarts', async () => {
    // A snapshot of the file after a flush and some unflushed writes is what SIGKILL leaves.
    const running = createRequestLogWriter(join(dir, 'live.gz'));
    for (const r of range(1, 1_000)) await running.write(r);
    await running.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await copyFile(join(dir, 'live.gz'), path);
    await running.close();
    const first = await readRequestLogEnd(path);
    expect(first?.lastSeq).toBe(1_000);

    // A second run, killed too: its member is cut off after the repaired first one.
    const second = await openRequestLogWriter(path);
    for (const r of range(1_001, 1_500)) await second.write(r);
    await second.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await copyFile(path, join(dir, 'killed.gz'));
    await second.close();
    await copyFile(join(dir, 'killed.gz'), path);
    const killed = await readRequestLog(path);
    expect(killed.incompleteGzip).toBe(true);
    expect(killed.records).toEqual(range(1, 1_500));

    await append(range(1_501, 1_502));
    expect(await readRequestLog(path)).toEqual({ records: range(1, 1_502), truncated: null, incompleteGzip: false });
  });

  it('refuses a damaged file and leaves it as it is', async () => {
    const damaged = gzipSync(`${lines([record(1)])}{"seq":"x"}\n${lines([record(2)])}`);
    await writeFile(path, damaged);
    await expect(openRequestLogWriter(path)).rejects.toMatchObject({ code: 'RECORDING_CORRUPT' });
    await expect(readRequestLogEnd(path)).rejects.toMatchObject({ code: 'RECORDING_CORRUPT' });
    expect((await readFile(path)).equals(damaged)).toBe(true);
  });
});
