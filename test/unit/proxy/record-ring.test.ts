import { describe, expect, it } from 'vitest';
import { createRecordRing } from '../../../src/proxy/record-ring.js';
import type { RequestRecord } from '../../../src/proxy/types.js';

function record(seq: number): RequestRecord {
  return {
    seq,
    tMonoNs: String(1_000_000 + seq),
    step: 0,
    arm: 'prod',
    routeKey: 'GET /',
    method: 'GET',
    status: 200,
    upstreamError: 'none',
    ttfbUs: 1,
    totalUs: 2,
    bytesOut: 3,
    override: false,
    mirrored: false,
  };
}

function ringWith(capacity: number, count: number) {
  const ring = createRecordRing(capacity);
  for (let seq = 1; seq <= count; seq += 1) ring.push(record(seq));
  return ring;
}

const seqs = (page: RequestRecord[] | { gone: true; oldestSeq: number }) => ('gone' in page ? page : page.map((entry) => entry.seq));

describe('the record ring', () => {
  it.each([
    // capacity, pushed, after, limit → seqs or gone
    { capacity: 5, pushed: 0, after: 0, limit: 10, expected: [] },
    { capacity: 5, pushed: 3, after: 0, limit: 10, expected: [1, 2, 3] },
    { capacity: 5, pushed: 3, after: 1, limit: 10, expected: [2, 3] },
    { capacity: 5, pushed: 3, after: 0, limit: 2, expected: [1, 2] },
    { capacity: 5, pushed: 3, after: 3, limit: 10, expected: [] },
    { capacity: 5, pushed: 3, after: 7, limit: 10, expected: [] },
    { capacity: 5, pushed: 5, after: 0, limit: 10, expected: [1, 2, 3, 4, 5] },
    // Wrapped: 8..12 held; after=7 is the last dropped one, so nothing is missing.
    { capacity: 5, pushed: 12, after: 7, limit: 10, expected: [8, 9, 10, 11, 12] },
    { capacity: 5, pushed: 12, after: 9, limit: 2, expected: [10, 11] },
    { capacity: 5, pushed: 12, after: 6, limit: 10, expected: { gone: true, oldestSeq: 8 } },
    { capacity: 5, pushed: 12, after: 0, limit: 1, expected: { gone: true, oldestSeq: 8 } },
    { capacity: 1, pushed: 4, after: 3, limit: 10, expected: [4] },
    { capacity: 1, pushed: 4, after: 2, limit: 10, expected: { gone: true, oldestSeq: 4 } },
  ])('capacity $capacity, $pushed records, after $after, limit $limit', ({ capacity, pushed, after, limit, expected }) => {
    const ring = ringWith(capacity, pushed);
    expect(seqs(ring.after(after, limit))).toEqual(expected);
    expect(ring.lastSeq()).toBe(pushed);
  });

  it('returns the records themselves, in order, across many wraps', () => {
    const ring = ringWith(7, 1000);
    const page = ring.after(995, 100);
    expect(page).toEqual([996, 997, 998, 999, 1000].map(record));
  });

  it('refuses a seq that does not follow the previous one, and a capacity below 1', () => {
    const ring = ringWith(5, 2);
    expect(() => ring.push(record(4))).toThrow(/record seq 4 does not follow 2/);
    expect(() => createRecordRing(0)).toThrow(RangeError);
    expect(() => createRecordRing(1.5)).toThrow(RangeError);
  });
});
