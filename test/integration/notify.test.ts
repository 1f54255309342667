/**
 * Notifications over real loopback HTTP and real processes: a `node:http` receiver on 127.0.0.1
 * records what the webhook POSTs; a small node script records what the command receives.
 * No Docker involved.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotifyConfig } from '../../src/definition/schema.js';
import { notify, type NotifyOptions, type RunSummary } from '../../src/pipeline/notify.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  port: number;
  received: Received[];
}

type Handler = (request: Received, response: ServerResponse, index: number) => void;

const servers: Server[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-notify-'));
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
});

/** A receiver on 127.0.0.1 and a free port; `handler` answers (default: 204). */
async function startReceiver(handler: Handler = (_request, response) => response.writeHead(204).end()): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      handler(entry, response, received.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, received };
}

/** A port on which nothing listens: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'run-20261126-102918-ab12',
    project: 'shop',
    env: 'ci',
    status: 'passed',
    startedAt: '2026-11-26T10:29:18.345Z',
    durationMs: 93_456,
    stages: [
      { name: 'build', status: 'passed', durationMs: 12_000 },
      { name: 'staging', status: 'passed', durationMs: 4_321 },
    ],
    recordPath: '/work/shop/.envctl/runs/run-20261126-102918-ab12.json',
    ...overrides,
  };
}

const FAILED = summary({
  status: 'failed',
  failedStage: 'staging',
  failedCheck: 'http web:/healthz',
  stages: [
    { name: 'build', status: 'passed', durationMs: 12_000 },
    { name: 'staging', status: 'failed', durationMs: 4_321 },
  ],
});

function options(overrides: Partial<NotifyOptions> = {}): NotifyOptions {
  return { cwd: dir, env: { PATH: process.env.PATH }, timeoutMs: 5_000, signal: new AbortController().signal, ...overrides };
}

function config(overrides: Partial<NotifyConfig>): NotifyConfig {
  return { on: ['success', 'failure'], ...overrides };
}

/** Records its stdin, arguments, a few environment variables and its cwd into the file named by argv[2]. */
const RECORDER = `
import { readFileSync, writeFileSync } from 'node:fs';
const stdin = readFileSync(0, 'utf8');
writeFileSync(process.argv[2], JSON.stringify({
  stdin,
  args: process.argv.slice(3),
  status: process.env.ENVCTL_RUN_STATUS ?? null,
  runId: process.env.ENVCTL_RUN_ID ?? null,
  extra: process.env.EXTRA ?? null,
  home: process.env.HOME ?? null,
  cwd: process.cwd(),
}));
`;

interface Recorded {
  stdin: string;
  args: string[];
  status: string | null;
  runId: string | null;
  extra: string | null;
  home: string | null;
  cwd: string;
}

async function recorderCommand(...args: string[]): Promise<{ command: string[]; output: string }> {
  const script = join(dir, 'record.mjs');
  await writeFile(script, RECORDER);
  const output = join(dir, `recorded-${randomBytes(3).toString('hex')}.json`);
  return { command: [process.execPath, script, output, ...args], output };
}

async function readRecorded(path: string): Promise<Recorded> {
  return JSON.parse(await readFile(path, 'utf8')) as Recorded;
}

describe('notify by webhook', () => {
  it.each([
    { label: 'a passed run', run: summary() },
    { label: 'a failed run', run: FAILED },
    { label: 'a cancelled run', run: summary({ status: 'cancelled', failedStage: 'perf' }) },
  ])('POSTs the JSON summary of $label', async ({ run }) => {
    const receiver = await startReceiver();
    const outcome = await notify(config({ webhook: `${receiver.url}/hooks/envctl?team=shop` }), run, options());
    expect(outcome).toEqual({ sent: [{ channel: 'webhook', ok: true, detail: `POST ${receiver.url}: HTTP 204 No Content` }] });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/hooks/envctl?team=shop');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe('envctl');
    expect(request?.headers.authorization).toBeUndefined();
    expect(JSON.parse(request?.body ?? '')).toEqual(run);
  });

  it.each([
    { on: ['failure'] as const, status: 'passed' as const },
    { on: ['success'] as const, status: 'failed' as const },
    { on: ['success'] as const, status: 'cancelled' as const },
    { on: [] as const, status: 'failed' as const },
  ])('sends nothing for a $status run when on is $on', async ({ on, status }) => {
    const receiver = await startReceiver();
    const { command, output } = await recorderCommand();
    const outcome = await notify({ on: [...on], webhook: receiver.url, command }, summary({ status }), options());
    expect(outcome).toEqual({ sent: [] });
    expect(receiver.received).toHaveLength(0);
    expect(existsSync(output)).toBe(false);
  });

  it('delivers a failure under on: [failure]', async () => {
    const receiver = await startReceiver();
    const outcome = await notify(config({ webhook: receiver.url, on: ['failure'] }), FAILED, options());
    expect(outcome.sent).toMatchObject([{ channel: 'webhook', ok: true }]);
    expect(JSON.parse(receiver.received[0]?.body ?? '')).toMatchObject({ status: 'failed', failedStage: 'staging', failedCheck: 'http web:/healthz' });
  });

  it('retries a 500 once, then reports it', async () => {
    const receiver = await startReceiver((_request, response) => response.writeHead(500).end('database on fire'));
    const outcome = await notify(config({ webhook: receiver.url }), FAILED, options());
    expect(outcome).toEqual({ sent: [{ channel: 'webhook', ok: false, detail: `POST ${receiver.url} failed: HTTP 500 Internal Server Error (2 attempts)` }] });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.body).toBe(receiver.received[0]?.body);
  });

  it('delivers on the retry after a 503', async () => {
    const receiver = await startReceiver((_request, response, index) => response.writeHead(index === 0 ? 503 : 200).end());
    const outcome = await notify(config({ webhook: receiver.url }), summary(), options());
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: true, detail: `POST ${receiver.url}: HTTP 200 OK (2 attempts)` }]);
    expect(receiver.received).toHaveLength(2);
  });

  it('does not retry a 4xx', async () => {
    const receiver = await startReceiver((_request, response) => response.writeHead(404).end());
    const outcome = await notify(config({ webhook: receiver.url }), summary(), options());
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: false, detail: `POST ${receiver.url} failed: HTTP 404 Not Found` }]);
    expect(receiver.received).toHaveLength(1);
  });

  it('reports an unreachable receiver without throwing', async () => {
    const port = await closedPort();
    const outcome = await notify(config({ webhook: `http://127.0.0.1:${port}/hook` }), FAILED, options());
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: false, detail: `POST http://127.0.0.1:${port} failed: cannot connect (ECONNREFUSED) (2 attempts)` }]);
  });

  // Without the timeout notify never returns: the test's own timeout is the ceiling.
  it('gives up when the receiver does not answer within the timeout', { timeout: 15_000 }, async () => {
    const receiver = await startReceiver(() => {
      // Never answers.
    });
    const outcome = await notify(config({ webhook: receiver.url }), FAILED, options({ timeoutMs: 400 }));
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: false, detail: `POST ${receiver.url} failed: no answer within 400 ms` }]);
    expect(receiver.received).toHaveLength(1);
  });

  it('stops when the signal aborts', async () => {
    const receiver = await startReceiver(() => {
      // Never answers.
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const outcome = await notify(config({ webhook: receiver.url }), FAILED, options({ signal: controller.signal }));
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: false, detail: `POST ${receiver.url} cancelled` }]);
  });

  it('follows a redirect on the same host and POSTs again', async () => {
    const receiver = await startReceiver((request, response) => {
      if (request.url === '/old') response.writeHead(308, { location: '/new' }).end();
      else response.writeHead(200).end();
    });
    const outcome = await notify(config({ webhook: `${receiver.url}/old` }), summary(), options());
    expect(outcome.sent).toEqual([{ channel: 'webhook', ok: true, detail: `POST ${receiver.url}: HTTP 200 OK` }]);
    expect(receiver.received.map((request) => [request.method, request.url])).toEqual([
      ['POST', '/old'],
      ['POST', '/new'],
    ]);
    expect(JSON.parse(receiver.received[1]?.body ?? '')).toEqual(summary());
  });

  it('does not follow a redirect to another host', async () => {
    const elsewhere = await startReceiver();
    // `localhost` is another host name for the same machine: followed, the POST would arrive.
    const target = `http://localhost:${elsewhere.port}/collect`;
    const receiver = await startReceiver((_request, response) => response.writeHead(307, { location: target }).end());
    const outcome = await notify(config({ webhook: receiver.url }), FAILED, options());
    expect(outcome.sent).toEqual([
      { channel: 'webhook', ok: false, detail: `POST ${receiver.url} failed: HTTP 307 redirect to http://localhost:${elsewhere.port} not followed (only same-host redirects are)` },
    ]);
    expect(receiver.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('keeps the URL\'s secret path, query and credentials out of every detail', async () => {
    const receiver = await startReceiver((_request, response, index) => response.writeHead(index === 0 ? 500 : 503).end());
    const webhook = `http://bot:pa55word@127.0.0.1:${receiver.port}/services/T000/B000/XXXXSECRETXXXX?token=qwerty`;
    const outcome = await notify(config({ webhook }), FAILED, options());
    const detail = outcome.sent[0]?.detail ?? '';
    expect(detail).toBe(`POST ${receiver.url} failed: HTTP 503 Service Unavailable (2 attempts)`);
    for (const secret of ['XXXXSECRETXXXX', 'qwerty', 'pa55word', 'bot']) expect(detail).not.toContain(secret);
    // The credentials still reach the receiver, as a Basic authorization header.
    expect(receiver.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from('bot:pa55word').toString('base64')}`);
    expect(receiver.received[0]?.url).toBe('/services/T000/B000/XXXXSECRETXXXX?token=qwerty');
  });
});

describe('notify by command', () => {
  it('gives the command the JSON summary on stdin and the run status and id in its environment', async () => {
    const { command, output } = await recorderCommand();
    const outcome = await notify(config({ command }), FAILED, options({ env: { PATH: process.env.PATH, EXTRA: 'kept' } }));
    expect(outcome).toEqual({ sent: [{ channel: 'command', ok: true, detail: `${command[0]?.split('/').at(-1)} exited with code 0` }] });
    const recorded = await readRecorded(output);
    expect(JSON.parse(recorded.stdin)).toEqual(FAILED);
    expect(recorded).toMatchObject({ args: [], status: 'failed', runId: FAILED.runId, extra: 'kept', cwd: dir });
    // The environment is exactly what the caller passed, plus the two variables.
    expect(recorded.home).toBeNull();
  });

  it('passes arguments literally: no shell expands them', async () => {
    const marker = join(tmpdir(), `envctl-pwned-${randomBytes(4).toString('hex')}`);
    const nasty = [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`, `&& touch ${marker}`, '--help', '"quoted" \'single\' $HOME *'];
    const { command, output } = await recorderCommand(...nasty);
    const outcome = await notify(config({ command }), summary(), options());
    expect(outcome.sent).toMatchObject([{ channel: 'command', ok: true }]);
    expect((await readRecorded(output)).args).toEqual(nasty);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a failing command with the tail of its stderr', async () => {
    const script = join(dir, 'fail.mjs');
    await writeFile(script, "for (let i = 1; i <= 30; i++) console.error(`\\x1b[31merror line ${i}\\x1b[0m`);\nprocess.exit(3);\n");
    const outcome = await notify(config({ command: [process.execPath, script] }), FAILED, options());
    const tail = Array.from({ length: 10 }, (_, i) => `error line ${21 + i}`).join(' | ');
    expect(outcome.sent).toEqual([{ channel: 'command', ok: false, detail: `${process.execPath.split('/').at(-1)} exited with code 3: ${tail}` }]);
  });

  it('reports a command that cannot start without throwing', async () => {
    const outcome = await notify(config({ command: [join(dir, 'no-such-notifier'), '--now'] }), FAILED, options());
    expect(outcome.sent).toEqual([{ channel: 'command', ok: false, detail: 'no-such-notifier could not start (ENOENT)' }]);
  });

  // The command would exit 0 after 30 s: without the timeout the test times out first (or sees ok: true).
  it('stops a command that does not finish within the timeout', { timeout: 20_000 }, async () => {
    const outcome = await notify(config({ command: [process.execPath, '-e', 'setTimeout(() => {}, 30_000)'] }), FAILED, options({ timeoutMs: 300 }));
    expect(outcome.sent).toMatchObject([{ channel: 'command', ok: false }]);
    expect(outcome.sent[0]?.detail).toMatch(/did not finish within 300 ms/);
  });

  it('stops a command when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const outcome = await notify(config({ command: [process.execPath, '-e', 'setTimeout(() => {}, 30_000)'] }), FAILED, options({ signal: controller.signal }));
    expect(outcome.sent).toEqual([{ channel: 'command', ok: false, detail: `${process.execPath.split('/').at(-1)} cancelled` }]);
  });

  it('stops a command that floods its stderr', async () => {
    const outcome = await notify(config({ command: [process.execPath, '-e', "process.stderr.write('x'.repeat(4 * 1024 * 1024)); setTimeout(() => {}, 30_000)"] }), FAILED, options());
    expect(outcome.sent).toEqual([{ channel: 'command', ok: false, detail: `${process.execPath.split('/').at(-1)} was stopped: it wrote more than 1048576 bytes to stderr` }]);
  });

  it('succeeds when the command ignores its stdin', async () => {
    const outcome = await notify(config({ command: [process.execPath, '-e', 'process.exit(0)'] }), summary(), options());
    expect(outcome.sent).toMatchObject([{ channel: 'command', ok: true }]);
  });
});

describe('notify by both', () => {
  it('tries the webhook and the command, and reports each', async () => {
    const receiver = await startReceiver((_request, response) => response.writeHead(500).end());
    const { command, output } = await recorderCommand();
    const outcome = await notify(config({ webhook: receiver.url, command }), FAILED, options());
    expect(outcome.sent.map((entry) => [entry.channel, entry.ok])).toEqual([
      ['webhook', false],
      ['command', true],
    ]);
    expect(JSON.parse((await readRecorded(output)).stdin)).toEqual(FAILED);
  });
});
