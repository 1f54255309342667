/**
 * Tells someone how a pipeline run ended: a webhook receives the run summary as a JSON POST and/or
 * a declared host command receives it on stdin. Delivery is best effort and never throws: every
 * problem becomes `ok: false` with a detail, so a broken receiver cannot change the run's result.
 *
 * The webhook's URL is treated as a secret (chat webhooks carry their token in the path, some URLs
 * carry user:password): details name only its scheme and host. The command is an argv array run
 * without a shell; details name only its program.
 */
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import stripAnsi from 'strip-ansi';
import type { NotifyConfig } from '../definition/schema.js';
import type { StageStatus } from '../events.js';

export type RunStatus = 'passed' | 'failed' | 'cancelled';

/** What receivers get, as JSON. Adding fields is fine; renaming or removing one breaks receivers. */
export interface RunSummary {
  runId: string;
  project: string;
  env: string;
  status: RunStatus;
  /** The first stage that failed (absent when the run passed). */
  failedStage?: string;
  /** The first check, threshold or command of that stage that failed. */
  failedCheck?: string;
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
  /** Stage names as in the definition (build, integration, perf, staging, release). */
  stages: Array<{ name: string; status: StageStatus; durationMs: number }>;
  /** The run record on disk, for a human to open. */
  recordPath: string;
}

export type NotifyChannel = 'webhook' | 'command';

export interface NotifyOutcome {
  /** One entry per channel that was tried; empty when the run's outcome is not in `on`. */
  sent: Array<{ channel: NotifyChannel; ok: boolean; detail: string }>;
}

export interface NotifyOptions {
  /** Where the command runs (the project directory). */
  cwd: string;
  /** The command's whole environment (usually `process.env`); `ENVCTL_RUN_STATUS` and `ENVCTL_RUN_ID` are added. */
  env: Record<string, string | undefined>;
  /** Budget per channel (ms): the webhook's attempts and redirects together, or the command's run. */
  timeoutMs: number;
  /**
   * Stops delivery. Not the run's own signal: when a cancelled run notifies, that one has
   * already fired; pass one that a second Ctrl-C aborts.
   */
  signal: AbortSignal;
}

/** At most this many POSTs per delivery: one retry on a connection error or a 5xx, never a storm. */
const MAX_ATTEMPTS = 2;
/** Pause before the retry (ms), taken from the same budget. */
const RETRY_DELAY_MS = 500;
/** Same-host redirects followed per attempt. */
const MAX_REDIRECTS = 3;
/** The command gets this long (ms) to exit after SIGTERM (timeout or cancel) before SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** Shown of a failing command's stderr: the last lines, at most this many characters. */
const STDERR_TAIL_LINES = 10;
const STDERR_TAIL_CHARS = 1_000;
/** A command that writes more than this to stderr is stopped: a notifier has no business being that chatty. */
const STDERR_MAX_BYTES = 1024 * 1024;

/** Whether a run that ended with `status` is announced under `on`; a cancelled run counts as a failure. */
export function shouldNotify(on: NotifyConfig['on'], status: RunStatus): boolean {
  return on.includes(status === 'passed' ? 'success' : 'failure');
}

export async function notify(config: NotifyConfig, summary: RunSummary, options: NotifyOptions): Promise<NotifyOutcome> {
  if (!shouldNotify(config.on, summary.status)) return { sent: [] };
  const body = JSON.stringify(summary);
  const deliveries: Array<Promise<NotifyOutcome['sent'][number]>> = [];
  if (config.webhook !== undefined) {
    const webhook = config.webhook;
    deliveries.push(settle('webhook', () => postWebhook(webhook, body, options), (error) => describeUnexpected(error, webhook)));
  }
  if (config.command !== undefined) {
    const command = config.command;
    deliveries.push(settle('command', () => runNotifyCommand(command, body, summary, options), (error) => (error instanceof Error ? error.name : 'unknown error')));
  }
  return { sent: await Promise.all(deliveries) };
}

interface Delivery {
  ok: boolean;
  detail: string;
}

/**
 * One JSON document to a webhook with the same rules (one retry, same-host redirects, the URL's
 * secrets never in the detail); never throws. The release controller posts each transition so.
 */
export async function postJson(webhook: string, payload: unknown, options: Pick<NotifyOptions, 'timeoutMs' | 'signal'>): Promise<Delivery> {
  const body = JSON.stringify(payload);
  return settle('webhook', () => postWebhook(webhook, body, { ...options, cwd: '.', env: {} }), (error) => describeUnexpected(error, webhook));
}

async function settle(channel: NotifyChannel, deliver: () => Promise<Delivery>, describe: (error: unknown) => string): Promise<NotifyOutcome['sent'][number]> {
  try {
    return { channel, ...(await deliver()) };
  } catch (error) {
    return { channel, ok: false, detail: `failed unexpectedly: ${describe(error)}` };
  }
}

type Attempt =
  | { kind: 'answered'; status: number; statusText: string }
  | { kind: 'redirect-refused'; status: number; to: string }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'timed-out' }
  | { kind: 'cancelled' };

async function postWebhook(webhook: string, body: string, options: NotifyOptions): Promise<Delivery> {
  const { url, authorization } = splitCredentials(new URL(webhook));
  const target = `POST ${origin(url)}`;
  const budget = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, budget]);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'envctl', ...(authorization ? { authorization } : {}) };
  const startedAt = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const attempt = await postOnce(url, headers, body, { signal, budget, cancel: options.signal });
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    switch (attempt.kind) {
      case 'answered': {
        const ok = (attempt.status >= 200 && attempt.status < 300) || attempt.status === 303;
        // The reason phrase is the receiver's text: printable characters only, and short.
        const reason = printable(attempt.statusText).slice(0, 80);
        const statusLine = `HTTP ${attempt.status}${reason ? ` ${reason}` : ''}`;
        if (ok) return { ok, detail: `${target}: ${statusLine}${tries}` };
        if (attempt.status < 500 || attempts >= MAX_ATTEMPTS) return { ok, detail: `${target} failed: ${statusLine}${tries}` };
        break;
      }
      case 'redirect-refused':
        return { ok: false, detail: `${target} failed: HTTP ${attempt.status} redirect to ${attempt.to} not followed (only same-host redirects are)${tries}` };
      case 'unreachable':
        if (attempts >= MAX_ATTEMPTS) return { ok: false, detail: `${target} failed: ${attempt.reason}${tries}` };
        break;
      case 'timed-out':
        return { ok: false, detail: `${target} failed: no answer within ${options.timeoutMs} ms${tries}` };
      case 'cancelled':
        return { ok: false, detail: `${target} cancelled${tries}` };
    }
    const remainingMs = options.timeoutMs - (Date.now() - startedAt);
    if (remainingMs <= RETRY_DELAY_MS) return { ok: false, detail: `${target} failed: ${retryReason(attempt)}; no time left to retry` };
    try {
      await sleep(RETRY_DELAY_MS, undefined, { signal });
    } catch {
      return options.signal.aborted ? { ok: false, detail: `${target} cancelled${tries}` } : { ok: false, detail: `${target} failed: ${retryReason(attempt)}; no time left to retry` };
    }
  }
}

function retryReason(attempt: Attempt): string {
  return attempt.kind === 'answered' ? `HTTP ${attempt.status}` : attempt.kind === 'unreachable' ? attempt.reason : attempt.kind;
}

/** One POST, following same-host redirects that keep it a POST; never throws. */
async function postOnce(
  start: URL,
  headers: Record<string, string>,
  body: string,
  signals: { signal: AbortSignal; budget: AbortSignal; cancel: AbortSignal },
): Promise<Attempt> {
  let url = start;
  for (let redirects = 0; ; redirects += 1) {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: signals.signal });
    } catch (error) {
      if (signals.cancel.aborted) return { kind: 'cancelled' };
      if (signals.budget.aborted) return { kind: 'timed-out' };
      return { kind: 'unreachable', reason: networkReason(error) };
    }
    // The body is not shown (it may echo the secret path back) and not needed: release the socket.
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (!isRedirect(response.status) || location === null) return { kind: 'answered', status: response.status, statusText: response.statusText };
    // 303 "see other": the receiver has handled the POST and points at a result page (not fetched).
    if (response.status === 303) return { kind: 'answered', status: response.status, statusText: response.statusText };
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return { kind: 'redirect-refused', status: response.status, to: 'an invalid location' };
    }
    if (!isSameHost(url, next) || redirects >= MAX_REDIRECTS) return { kind: 'redirect-refused', status: response.status, to: redirects >= MAX_REDIRECTS ? `${origin(next)} after ${MAX_REDIRECTS} redirects` : origin(next) };
    url = next;
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The same host name, and never from HTTPS down to HTTP (the summary and any credentials would travel in clear). */
function isSameHost(from: URL, to: URL): boolean {
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return false;
  if (from.protocol === 'https:' && to.protocol === 'http:') return false;
  return from.hostname === to.hostname;
}

/** `fetch` refuses URLs with user:password; they become a Basic authorization header. */
function splitCredentials(url: URL): { url: URL; authorization: string | undefined } {
  if (url.username === '' && url.password === '') return { url, authorization: undefined };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  return { url: bare, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** Scheme and host only: the path and query may hold the token. */
function origin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** `fetch failed` says nothing; the cause has the system error code (ECONNREFUSED, ENOTFOUND, …). */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return `cannot connect (${code})`;
  return 'cannot connect';
}

function describeUnexpected(error: unknown, webhook: string): string {
  if (error instanceof TypeError && /url/i.test(error.message)) return 'the webhook URL is invalid';
  const message = error instanceof Error ? error.message : String(error);
  return message.split(webhook).join(redactedWebhook(webhook));
}

function redactedWebhook(webhook: string): string {
  try {
    return origin(new URL(webhook));
  } catch {
    return 'the webhook';
  }
}

async function runNotifyCommand(command: readonly string[], body: string, summary: RunSummary, options: NotifyOptions): Promise<Delivery> {
  const [file, ...args] = command;
  if (file === undefined) return { ok: false, detail: 'the command is empty' };
  const program = basename(file);
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: { ...options.env, ENVCTL_RUN_STATUS: summary.status, ENVCTL_RUN_ID: summary.runId },
    extendEnv: false,
    shell: false,
    input: body,
    // stdout is envctl's result channel: the command's own output goes nowhere.
    stdout: 'ignore',
    stderr: 'pipe',
    reject: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    maxBuffer: { stderr: STDERR_MAX_BYTES },
  });
  const tail = stderrTail(typeof result.stderr === 'string' ? result.stderr : '');
  const withTail = tail === '' ? '' : `: ${tail}`;
  if (result.isCanceled) return { ok: false, detail: `${program} cancelled` };
  if (result.isMaxBuffer) return { ok: false, detail: `${program} was stopped: it wrote more than ${STDERR_MAX_BYTES} bytes to stderr` };
  if (result.timedOut) return { ok: false, detail: `${program} did not finish within ${options.timeoutMs} ms${withTail}` };
  if (result.exitCode === undefined && result.signal === undefined) return { ok: false, detail: `${program} could not start${result.code ? ` (${result.code})` : ''}` };
  if (result.signal !== undefined) return { ok: false, detail: `${program} was killed by ${result.signal}${withTail}` };
  if (result.exitCode !== 0) return { ok: false, detail: `${program} exited with code ${result.exitCode}${withTail}` };
  return { ok: true, detail: `${program} exited with code 0` };
}

/** The last lines of stderr, escape sequences and control characters removed, on one line. */
function stderrTail(stderr: string): string {
  const lines = stripAnsi(stderr)
    .split('\n')
    .map(printable)
    .filter((line) => line !== '');
  const text = lines.slice(-STDERR_TAIL_LINES).join(' | ');
  return text.length > STDERR_TAIL_CHARS ? `…${text.slice(-(STDERR_TAIL_CHARS - 1))}` : text;
}

/** Terminal-safe: escape sequences removed, control characters (C0, DEL, C1) as spaces. Details end up on the user's terminal. */
function printable(text: string): string {
  return stripAnsi(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
}
