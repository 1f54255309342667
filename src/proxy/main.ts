/**
 * The release proxy as a process of its own (`node dist/proxy/main.js CONFIG.json`), so it can run
 * as a container of the environment and outlive the CLI. It serves the data port, keeps the admin
 * API on a 0600 unix socket, appends every request to `requests.jsonl.gz` (flushed every second, so
 * a killed proxy loses at most the last second), prints `{"port":N}` once listening, and drains on
 * SIGTERM/SIGINT.
 *
 * Also built as one self-contained file, `dist/proxy/bundle.mjs` (scripts/bundle-proxy.mjs), which
 * the proxy image runs as `node /opt/envctl-proxy/proxy.mjs CONFIG.json`. Either way this module is
 * the entry file, which is what starts `main()` below.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createRequestLogWriter } from '../release/recording/files.js';
import { DEFAULT_RECORD_RING } from './record-ring.js';
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

/** How often the request log is made durable (ms). */
const FLUSH_INTERVAL_MS = 1_000;

export async function runProxyProcess(config: ProxyConfig, out: NodeJS.WritableStream): Promise<{ stop(): Promise<void> }> {
  const writer = createRequestLogWriter(config.requestsFile);
  let writing: Promise<void> = Promise.resolve();
  const record = (entry: RequestRecord) => {
    writing = writing.then(() => writer.write(entry));
  };
  const proxy = await startProxy({
    upstreams: config.upstreams,
    router: createRouter(config.weights, { sticky: config.sticky }),
    host: config.host,
    port: config.port,
    step: config.step,
    recordRing: config.recordRing,
    adminSocketPath: config.adminSocket,
    record,
    onError: (error) => process.stderr.write(`envctl proxy: ${error.message}\n`),
  });
  const flusher = setInterval(() => {
    writing = writing.then(() => writer.flush());
  }, FLUSH_INTERVAL_MS);
  out.write(`${JSON.stringify({ port: proxy.port })}\n`);
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        clearInterval(flusher);
        await proxy.close();
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
  const running = await runProxyProcess(parsed.data, process.stdout);
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
