/**
 * The release audit files under `.envctl/releases/<id>/` (canary.md §3.6): the thin I/O around the
 * pure aggregation and replay.
 * - `events.jsonl`: append-only, one JSON object per line, keys sorted at every level (replays diff
 *   cleanly), each append written and fsync'd before the next starts;
 * - `requests.jsonl.gz`: one `RequestRecord` per line through a gzip stream; `flush()` makes
 *   everything written so far readable after a crash; the reader (validating each line) accepts a
 *   cut-off file and reports a truncated last line instead of failing. A restarted proxy continues
 *   the file: it is a sequence of gzip members (concatenated members are one valid gzip file, read
 *   as the concatenation of their texts), one per run of the proxy. The rule that keeps the lines
 *   whole across members: every member except the last holds only complete, newline-terminated
 *   lines and is closed (has its gzip trailer). Only the last member may be cut off (a killed
 *   writer). A writer that continues a file whose last member was cut off, or whose text does not
 *   end with a newline, first rewrites it atomically as one closed member of its complete lines
 *   (the cut-off fragment, never a readable record, is dropped), and only then appends its own
 *   member, so a partial line is never glued to the next run's first line and a cut-off deflate
 *   stream never sits in front of a new member (which no gunzip could read past);
 * - `verdict.json`: written atomically (temp file, fsync, rename).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import stringify from 'safe-stable-stringify';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { WorkFailedError } from '../../errors.js';
import { appendLine as appendWholeLine, appendWhole } from '../../fs-util.js';
import { ARMS, type RequestRecord } from '../../proxy/types.js';
import type { Verdict } from '../analysis/judge.js';
import { renderVerdictJson } from './replay.js';

export interface EventLog {
  /** Appends one line and fsyncs it; appends run in call order. */
  append(event: Readonly<Record<string, unknown>>): Promise<void>;
  close(): Promise<void>;
}

/** One `events.jsonl` line: keys sorted at every level, no spaces, newline-terminated. */
export function renderEventLine(event: Readonly<Record<string, unknown>>): string {
  return `${stringify(event)}\n`;
}

/** Opens (creating if needed) an `events.jsonl` for appending. */
export async function openEventLog(path: string): Promise<EventLog> {
  const handle = await openOrFail(path, 'a');
  // The length of the whole lines written so far: a write that fails or only partly lands (a full
  // disk takes what fits in the file's last page and reports a short write) is cut back to it.
  let size = (await handle.stat()).size;
  let tail: Promise<void> = Promise.resolve();
  const appendNow = async (line: string): Promise<void> => {
    const bytes = Buffer.from(line);
    try {
      await appendWhole(handle, bytes, size, { sync: true });
    } catch (error) {
      throw writeError(path, error);
    }
    size += bytes.length;
  };
  return {
    append(event) {
      const line = renderEventLine(event);
      // Chained so concurrent appends never interleave; a failed append does not block the next.
      const next = tail.then(() => appendNow(line));
      tail = next.catch(() => undefined);
      return next;
    },
    async close() {
      await tail;
      await handle.close();
    },
  };
}

/** Appends one line to a release file (created 0600), whole or not at all; errors name the path. */
export async function appendLine(path: string, line: string): Promise<void> {
  try {
    await appendWholeLine(path, line);
  } catch (error) {
    throw writeError(path, error);
  }
}

export interface RequestLogWriter {
  write(record: RequestRecord): Promise<void>;
  /** Several records at once (one write into the gzip stream): what the proxy does under load. */
  writeMany(records: readonly RequestRecord[]): Promise<void>;
  /** Sync-flushes the gzip stream, so a crash after it loses nothing written before it. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Creates (truncating) a `requests.jsonl.gz`. */
export function createRequestLogWriter(path: string): RequestLogWriter {
  return gzipMemberWriter(path, 'w');
}

/** Where the records an earlier run left in a `requests.jsonl.gz` end. */
export interface RequestLogEnd {
  /** Complete records in the file. */
  records: number;
  /** The highest seq among them; 0 when there are none. */
  lastSeq: number;
  /** The highest `tMonoNs` among them (records are in finish order, not arrival order); undefined when there are none. */
  maxTMonoNs: bigint | undefined;
}

/**
 * Reads where the records of a `requests.jsonl.gz` end, without changing it; undefined when the
 * file does not exist. Throws like {@link readRequestLog} when it is damaged.
 */
export async function readRequestLogEnd(path: string): Promise<RequestLogEnd | undefined> {
  const compressed = await readCompressed(path);
  if (compressed === undefined) return undefined;
  const { records } = parseRequestLog(path, decodeRequestLog(path, compressed));
  let lastSeq = 0;
  let maxTMonoNs: bigint | undefined;
  for (const record of records) {
    if (record.seq > lastSeq) lastSeq = record.seq;
    const t = BigInt(record.tMonoNs);
    if (maxTMonoNs === undefined || t > maxTMonoNs) maxTMonoNs = t;
  }
  return { records: records.length, lastSeq, maxTMonoNs };
}

/**
 * Opens a `requests.jsonl.gz` to continue it with a new gzip member (creating it when missing),
 * keeping the rule of the header: when the file's last member was cut off or its text does not end
 * with a newline, its complete lines are first rewritten atomically (temp file, fsync, rename) as
 * one closed member. Throws like {@link readRequestLog} when the file is damaged: appending to it
 * would bury the damage in the middle of the file.
 */
export async function openRequestLogWriter(path: string): Promise<RequestLogWriter> {
  const compressed = await readCompressed(path);
  if (compressed !== undefined) {
    const decoded = decodeRequestLog(path, compressed);
    const log = parseRequestLog(path, decoded);
    if (decoded.incompleteGzip || !(decoded.text === '' || decoded.text.endsWith('\n'))) {
      try {
        await writeFileAtomic(path, gzipSync(completeLines(decoded.text, log)));
      } catch (error) {
        throw writeError(path, error);
      }
    }
  }
  return gzipMemberWriter(path, 'a');
}

/**
 * The text of the complete lines, each newline-terminated: a last line that is a whole record
 * missing only its newline is kept, a cut-off fragment is dropped.
 */
function completeLines(text: string, log: RequestLog): string {
  const end = text.lastIndexOf('\n') + 1;
  const rest = text.slice(end);
  return rest !== '' && log.truncated === null ? `${text}\n` : text.slice(0, end);
}

/** One gzip member written to `path`, truncating it (`w`) or after what it holds (`a`). */
function gzipMemberWriter(path: string, flags: 'w' | 'a'): RequestLogWriter {
  const gzip = createGzip();
  const done = pipeline(gzip, createWriteStream(path, { flags })).catch((error: unknown) => {
    throw writeError(path, error);
  });
  // Surfaced by close(); keeps an early failure from being an unhandled rejection meanwhile.
  done.catch(() => undefined);
  return {
    async write(record) {
      if (!gzip.write(`${JSON.stringify(record)}\n`)) await once(gzip, 'drain');
    },
    async writeMany(records) {
      if (records.length === 0) return;
      let text = '';
      for (const record of records) text += `${JSON.stringify(record)}\n`;
      if (!gzip.write(text)) await once(gzip, 'drain');
    },
    async flush() {
      await new Promise<void>((resolve) => gzip.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    },
    async close() {
      gzip.end();
      await done;
    },
  };
}

export interface RequestLog {
  records: RequestRecord[];
  /** The unreadable last line of a file cut off mid-write (1-based line number), or null. */
  truncated: { line: number; text: string } | null;
  /** True when the gzip stream itself ended early (the last member has no gzip trailer: its writer did not close). */
  incompleteGzip: boolean;
}

/** The fields of a `RequestRecord`: strict in the file (damage shows), lenient on the admin API (a newer proxy may add some). */
export const requestRecordShape = {
  seq: z.number().int(),
  tMonoNs: z.string().regex(/^\d+$/),
  step: z.number().int(),
  arm: z.enum(ARMS),
  routeKey: z.string(),
  method: z.string(),
  status: z.number().int(),
  upstreamError: z.enum(['none', 'connect', 'reset', 'timeout']),
  ttfbUs: z.number(),
  totalUs: z.number(),
  bytesOut: z.number(),
  override: z.boolean(),
  mirrored: z.boolean(),
};

const requestRecordSchema = z.strictObject(requestRecordShape) satisfies z.ZodType<RequestRecord>;

/**
 * Reads a `requests.jsonl.gz`, every gzip member of it. A cut-off gzip stream (a cut-off last
 * member) and an unreadable final line (no newline after it) are what a crash leaves and are
 * reported, not thrown; a bad line anywhere else is corruption and throws `RECORDING_CORRUPT`
 * naming the line.
 */
export async function readRequestLog(path: string): Promise<RequestLog> {
  const compressed = await readCompressed(path);
  if (compressed === undefined) throw readError(path, 'ENOENT');
  return parseRequestLog(path, decodeRequestLog(path, compressed));
}

interface DecodedRequestLog {
  text: string;
  incompleteGzip: boolean;
}

/** The file's bytes; undefined when it does not exist. */
async function readCompressed(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw readError(path, code ?? String(error), error);
  }
}

function readError(path: string, what: string, cause?: unknown): WorkFailedError {
  return new WorkFailedError('RECORDING_READ', `cannot read ${path}: ${what}`, 'check that the release folder is complete', cause);
}

/** The text of every member. */
function decodeRequestLog(path: string, compressed: Buffer): DecodedRequestLog {
  // Whole-file and in memory: a release's recording is a few MB, and zlib's streams cannot tell a
  // cut-off stream apart once a sync flush has recovered its data. The sync flush decompresses what
  // a cut-off stream holds; the strict pass says whether the trailer was there. zlib goes on to the
  // next member after each trailer, so both passes read every member.
  try {
    return { text: gunzipSync(compressed).toString('utf8'), incompleteGzip: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') {
      throw new WorkFailedError('RECORDING_CORRUPT', `${path} is not a gzip file: ${(error as Error).message}`, 'the recording was edited or damaged; replay needs the original file', error);
    }
    return { text: gunzipSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8'), incompleteGzip: true };
  }
}

function parseRequestLog(path: string, { text, incompleteGzip }: DecodedRequestLog): RequestLog {
  const lines = text.split('\n');
  // Text after the last newline (usually none) is the last line, possibly cut off mid-write.
  const last = lines.pop() ?? '';
  const records: RequestRecord[] = [];
  lines.forEach((line, index) => {
    const record = parseRecord(line);
    if (record === null) throw new WorkFailedError('RECORDING_CORRUPT', `${path}:${index + 1}: not a request record: ${preview(line)}`, 'the recording was edited or damaged; replay needs the original file');
    records.push(record);
  });
  if (last === '') return { records, truncated: null, incompleteGzip };
  // A complete record missing only its newline was fully written; anything else was cut off.
  const record = parseRecord(last);
  if (record === null) return { records, truncated: { line: lines.length + 1, text: last }, incompleteGzip };
  records.push(record);
  return { records, truncated: null, incompleteGzip };
}

/** Writes `verdict.json` atomically, in the form `envctl release judge --replay` compares byte for byte. */
export async function writeVerdictFile(path: string, verdicts: readonly Verdict[]): Promise<void> {
  try {
    await writeFileAtomic(path, renderVerdictJson(verdicts));
  } catch (error) {
    throw writeError(path, error);
  }
}

function parseRecord(text: string): RequestRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = requestRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

async function openOrFail(path: string, flags: string): Promise<FileHandle> {
  try {
    return await open(path, flags, 0o600);
  } catch (error) {
    throw writeError(path, error);
  }
}

function writeError(path: string, error: unknown): WorkFailedError {
  if (error instanceof WorkFailedError) return error;
  return new WorkFailedError('STATE_WRITE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the .envctl folder', error);
}
