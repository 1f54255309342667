/**
 * The latest request records in memory, so the release controller can follow them over the admin
 * API (`GET /records?after=SEQ`) without reading `requests.jsonl.gz` while it is being written.
 * Fixed capacity: the oldest records are dropped first, and a reader that fell behind that far is
 * told so (`gone`) instead of getting a page with a hole in it.
 */
import type { RecordsGone, RequestRecord } from './types.js';

/** Records kept by default: about 50 MB, and well over an hour of the release's 50 rps load. */
export const DEFAULT_RECORD_RING = 200_000;

export interface RecordRing {
  /** Appends the next record; its seq must be one more than the previous one's (the first may be any). */
  push(record: RequestRecord): void;
  /** seq of the newest record held; 0 when none was pushed. */
  lastSeq(): number;
  /**
   * Records with seq > `after`, in seq order, at most `limit` (empty when `after` ≥ lastSeq).
   * `gone` when records with seq > `after` have already been dropped.
   */
  after(after: number, limit: number): RequestRecord[] | RecordsGone;
}

export function createRecordRing(capacity: number): RecordRing {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`record ring capacity must be an integer ≥ 1, got ${String(capacity)}`);
  }
  // Grows up to `capacity`, then the slot of seq s is (s - firstSeq) mod capacity.
  const slots: RequestRecord[] = [];
  let firstSeq = 0;
  let last = 0;
  const oldest = (): number => Math.max(firstSeq, last - slots.length + 1);
  return {
    push(record) {
      if (slots.length === 0 && last === 0) firstSeq = record.seq;
      else if (record.seq !== last + 1) throw new RangeError(`record seq ${record.seq} does not follow ${last}`);
      last = record.seq;
      const slot = (record.seq - firstSeq) % capacity;
      slots[slot] = record;
    },
    lastSeq: () => last,
    after(after, limit) {
      if (slots.length === 0) return [];
      const from = Math.max(after + 1, oldest());
      if (after + 1 < oldest()) return { gone: true, oldestSeq: oldest() };
      const to = Math.min(last, after + limit);
      const page: RequestRecord[] = [];
      for (let s = from; s <= to; s += 1) page.push(slots[(s - firstSeq) % capacity]!);
      return page;
    },
  };
}
