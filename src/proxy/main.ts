/**
 * The release proxy as a process of its own (`node dist/proxy/main.js CONFIG.json`), so it can run
 * as a container of the environment and outlive the CLI. It serves the data port, keeps the admin
 * API on a 0600 unix socket, appends every request to `requests.jsonl.gz` (flushed every second, so
 * a killed proxy loses at most the last second), prints `{"port":N}` once listening, and drains on
 * SIGTERM/SIGINT.
 *
 * A restart (crash, engine restart, `docker restart`) continues where the last run stopped:
 * - the request log is continued, never truncated: seq goes on after the highest recorded one, in a
 *   new gzip member of the same file (the format rule is in release/recording/files.ts);
 * - every weight change of the admin API is persisted to `weights.json` beside the request log
 *   (atomically, before the PUT is answered), and a restarted proxy serves those weights and step.
 *   Without the file it starts from the config's; with an unreadable one, stable-only (prod 100 %,
 *   step 0, so nothing it serves counts toward a step) rather than weights nobody chose;
 * - the clock behind `tMonoNs` continues after the recorded arrivals (see {@link continuedClock}).
 *
 * Also built as one self-contained file, `dist/proxy/bundle.mjs` (scripts/bundle-proxy.mjs), which
 * the proxy image runs as `node /opt/envctl-proxy/proxy.mjs CONFIG.json`. Either way this module is
 * the entry file, which is what starts `main()` below.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { EnvctlError } from '../errors.js';
import { openRequestLogWriter, readRequestLogEnd, type RequestLogWriter } from '../release/recording/files.js';
import { DEFAULT_RECORD_RING } from './record-ring.js';
import { startingWeights, weightsFileOf, writePersistedWeights, type PersistedWeights, type StartingWeights } from './persisted-weights.js';
import { createRouter } from './routing.js';
import { startProxy } from './server.js';
import type { RequestRecord } from './types.js';

const upstream = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });
const weight = z.number().int().min(0).max(100);

export const proxyConfigSchema = z.strictObject({
  /** Where the data port listens: 0.0.0.0 inside a container (published on 127.0.0.1 by the engine). */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  upstreams: z.strictObject({ canary: upstream, baseline: upstream, prod: upstream }),
  weights: z.strictObject({ canary: weight, baseline: weight, prod: weight }),
  sticky: z.enum(['none', 'cookie']).default('none'),
  step: z.number().int().min(0).default(0),
  adminSocket: z.string().min(1),
  requestsFile: z.string().min(1),
  /** How many of the latest records the admin API's `GET /records` can serve. */
  recordRing: z.number().int().min(1).max(10_000_000).default(DEFAULT_RECORD_RING),
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;
/** What a config file holds (defaults not yet applied). */
export type ProxyConfigFile = z.input<typeof proxyConfigSchema>;

/** Records wait at most this long (ms) before they go into the gzip stream, or this many of them. */
const BATCH_INTERVAL_MS = 100;
const BATCH_MAX_RECORDS = 1000;

/** How often the request log is made durable (ms). */
const FLUSH_INTERVAL_MS = 1_000;

export { startingWeights, weightsFileOf, writePersistedWeights, type PersistedWeights, type StartingWeights };

/** A restarted proxy's clock starts at least this far after the latest recorded arrival, ns. */
const CLOCK_RESUME_GAP_NS = 1_000_000_000n;

/**
 * The clock behind `tMonoNs` for this run, so that arrival times keep increasing across restarts:
 * readings are above `maxRecordedNs` + 1 s. `process.hrtime.bigint()` is CLOCK_MONOTONIC, which
 * goes on across a process (and container) restart but starts again when the host reboots and
 * differs between machines; when it is not already far enough ahead, a constant offset is added.
 */
export function continuedClock(maxRecordedNs: bigint | undefined, hrtime: () => bigint = process.hrtime.bigint): () => bigint {
  if (maxRecordedNs === undefined) return hrtime;
  const offset = maxRecordedNs + CLOCK_RESUME_GAP_NS - hrtime();
  return offset > 0n ? () => hrtime() + offset : hrtime;
}

export async function runProxyProcess(config: ProxyConfig, out: NodeJS.WritableStream): Promise<{ stop(): Promise<void> }> {
  // Read only: the file is rewritten (when its last member was cut off) only once startProxy holds
  // the admin socket, which proves no other proxy still writes it.
  const earlier = await readRequestLogEnd(config.requestsFile);
  const weightsFile = weightsFileOf(config.requestsFile);
  const start = await startingWeights(config, weightsFile);
  if (start.problem !== undefined) process.stderr.write(`envctl proxy: ${start.problem}; serving stable only (prod 100 %, step 0)\n`);

  // Records that finish before the log is open wait for it, in order.
  let writerOpened!: (writer: RequestLogWriter) => void;
  const opened = new Promise<RequestLogWriter>((resolve) => {
    writerOpened = resolve;
  });
  // Records are batched (one write into the gzip stream every BATCH_INTERVAL_MS, or sooner when
  // many are waiting): a write per request would cost the data path more than the proxying.
  let writing: Promise<void> = Promise.resolve();
  let batch: RequestRecord[] = [];
  const drain = (): void => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    writing = writing.then(async () => (await opened).writeMany(records));
  };
  const record = (entry: RequestRecord) => {
    batch.push(entry);
    if (batch.length >= BATCH_MAX_RECORDS) drain();
  };

  const proxy = await startProxy({
    upstreams: config.upstreams,
    router: createRouter(start.weights, { sticky: config.sticky }),
    host: config.host,
    port: config.port,
    step: start.step,
    recordRing: config.recordRing,
    adminSocketPath: config.adminSocket,
    record,
    clock: continuedClock(earlier?.maxTMonoNs),
    lastSeq: earlier?.lastSeq ?? 0,
    persistWeights: (next) => writePersistedWeights(weightsFile, next, new Date()),
    onError: (error) => process.stderr.write(`envctl proxy: ${error.message}\n`),
  });
  let writer: RequestLogWriter;
  try {
    writer = await openRequestLogWriter(config.requestsFile);
  } catch (error) {
    await proxy.close();
    throw error;
  }
  writerOpened(writer);
  if (earlier !== undefined) {
    process.stderr.write(
      `envctl proxy: continuing ${config.requestsFile} after seq ${earlier.lastSeq}; weights from ${start.from}: ` +
        `canary ${start.weights.canary} · baseline ${start.weights.baseline} · prod ${start.weights.prod}, step ${start.step}\n`,
    );
  }
  const batcher = setInterval(drain, BATCH_INTERVAL_MS);
  const flusher = setInterval(() => {
    drain();
    writing = writing.then(() => writer.flush());
  }, FLUSH_INTERVAL_MS);
  out.write(`${JSON.stringify({ port: proxy.port })}\n`);
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        clearInterval(flusher);
        await proxy.close();
        clearInterval(batcher);
        drain();
        await writing;
        await writer.close();
      })();
      return stopping;
    },
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const path = argv[0];
  if (!path) {
    process.stderr.write('usage: node dist/proxy/main.js CONFIG.json\n');
    process.exit(2);
  }
  const parsed = proxyConfigSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) {
    process.stderr.write(`envctl proxy: invalid config ${path}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}\n`);
    process.exit(2);
  }
  let running: { stop(): Promise<void> };
  try {
    running = await runProxyProcess(parsed.data, process.stdout);
  } catch (error) {
    // A damaged request log, a busy admin socket or port: said in one line, exit 1 (the engine
    // restarts the container, and the next attempt says it again).
    const hint = error instanceof EnvctlError && error.hint ? ` (${error.hint})` : '';
    process.stderr.write(`envctl proxy: ${(error as Error).message}${hint}\n`);
    process.exit(1);
  }
  const shutdown = () => {
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`envctl proxy: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
