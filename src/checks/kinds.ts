/**
 * One attempt at each kind of check (goss/InSpec style), looking only through the Engine port and
 * the host's network. Every unmet expectation becomes a reason; when all are met, the reasons say
 * what was verified.
 */
import { judgeCertificate, readFirstCertificate } from './certificate.js';
import { connectTcp, execIn, formatHostPort, httpGet, MAX_READ_BYTES, reachableHost, REQUEST_TIMEOUT_MS, type ExecOutcome } from './probes.js';
import { findMount, formatMode, isLoopback, mountMode, parseEnviron, parseMountinfo, parseOctalMode, parseProcNetTcp, type ProcNetSocket } from './proc.js';
import { excerpt, quote, showCommand } from './text.js';
import type { CheckContext, InfraCheck } from './types.js';

export interface Attempt {
  passed: boolean;
  reasons: string[];
  /** Retrying cannot change the outcome (the check itself is wrong, e.g. an invalid pattern). */
  final?: boolean;
}

/** The time left for this attempt (ms); every probe inside it is bounded by it. */
export type Remaining = () => number;

type Kind<K extends InfraCheck['kind']> = Extract<InfraCheck, { kind: K }>;

export function attemptCheck(check: InfraCheck, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  switch (check.kind) {
    case 'port':
      return attemptPort(check, ctx, remaining);
    case 'mount':
      return attemptMount(check, ctx, remaining);
    case 'file':
      return attemptFile(check, ctx, remaining);
    case 'certificate':
      return attemptCertificate(check, ctx, remaining);
    case 'env':
      return attemptEnv(check, ctx, remaining);
    case 'http':
      return attemptHttp(check, ctx, remaining);
    case 'command':
      return attemptCommand(check, ctx, remaining);
  }
}

function verdict(failures: string[], verified: string[]): Attempt {
  return failures.length > 0 ? { passed: false, reasons: failures } : { passed: true, reasons: verified };
}

const failed = (reason: string, final = false): Attempt => ({ passed: false, reasons: [reason], ...(final ? { final } : {}) });

/** The output of a command that must succeed, or why it did not. */
function mustSucceed(outcome: ExecOutcome, what: string, service: string): { ok: true; stdout: string } | { ok: false; reason: string } {
  if (!outcome.ok) return outcome;
  if (outcome.exitCode !== 0) return { ok: false, reason: `could not ${what} in ${service}: ${excerpt(outcome.stderr || outcome.stdout, 160) || `exit code ${outcome.exitCode}`}` };
  return { ok: true, stdout: outcome.stdout };
}

/** A path that a file command could not open: missing, or some other reason in the tool's own words. */
function unreadable(outcome: Extract<ExecOutcome, { ok: true }>, path: string, service: string, what: string): string {
  const said = outcome.stderr || outcome.stdout;
  if (/no such file or directory/i.test(said)) return `${excerpt(path, 120)} does not exist in ${service}`;
  return `could not ${what} ${excerpt(path, 120)} in ${service}: ${excerpt(said, 160) || `exit code ${outcome.exitCode}`}`;
}

/** The address of the resolver Docker runs inside every container on a user-defined network, on a random port. */
const DOCKER_EMBEDDED_DNS = '127.0.0.11';

function showListeners(sockets: readonly ProcNetSocket[]): string {
  return [...new Set(sockets.map((socket) => formatHostPort(socket.address, socket.port)))].join(', ');
}

async function attemptPort(check: Kind<'port'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  // tcp6 is missing when IPv6 is off: cat then exits 1 but still prints tcp.
  const read = await execIn(ctx, check.service, ['cat', '/proc/net/tcp', '/proc/net/tcp6'], { timeoutMs: remaining() });
  if (!read.ok) return failed(read.reason);
  if (!read.stdout.includes('local_address')) return failed(`could not read /proc/net/tcp in ${check.service}: ${excerpt(read.stderr, 160) || `exit code ${read.exitCode}`}`);
  const listening = parseProcNetTcp(read.stdout).filter((socket) => socket.listening);
  const listeners = listening.filter((socket) => socket.port === check.port);
  const failures: string[] = [];
  const verified: string[] = [];
  if (listeners.length === 0) {
    // Docker's embedded DNS (127.0.0.11, on every user-defined network) is not the service's own listener.
    const others = [...new Set(listening.filter((socket) => socket.address !== DOCKER_EMBEDDED_DNS).map((socket) => socket.port))].sort((a, b) => a - b);
    const shown = others.length > 10 ? `${others.slice(0, 10).join(', ')}, …` : others.join(', ');
    failures.push(`nothing listens on ${check.port} inside ${check.service} (${others.length > 0 ? `listening: ${shown}` : 'no TCP port listens'})`);
  } else {
    verified.push(`${showListeners(listeners)} listens inside ${check.service}`);
  }
  const published = ctx.publishedAddress(check.service, check.port);
  if (published === undefined) {
    verified.push(`${check.port} is not published on the host`);
  } else {
    const probe = await connectTcp(reachableHost(published.host), published.port, Math.min(remaining(), REQUEST_TIMEOUT_MS), ctx.signal);
    if (probe.ok) verified.push(probe.detail);
    else if (listeners.length > 0 && listeners.every((socket) => isLoopback(socket.address))) {
      failures.push(`${probe.reason}: inside ${check.service} it listens only on ${showListeners(listeners)}, which the published port cannot reach`);
    } else failures.push(probe.reason);
  }
  return verdict(failures, verified);
}

const MODE_WORDS = { ro: 'read-only', rw: 'read-write' } as const;

async function attemptMount(check: Kind<'mount'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  const read = mustSucceed(await execIn(ctx, check.service, ['cat', '/proc/self/mountinfo'], { timeoutMs: remaining() }), 'read /proc/self/mountinfo', check.service);
  if (!read.ok) return failed(read.reason);
  const path = excerpt(check.path, 120);
  const mount = findMount(parseMountinfo(read.stdout), check.path);
  if (!mount) return failed(`${path} is not a mount point in ${check.service}`);
  const mode = mountMode(mount);
  if (check.mode !== undefined && check.mode !== mode) return failed(`${path} is mounted ${MODE_WORDS[mode]} in ${check.service}, expected ${MODE_WORDS[check.mode]}`);
  return verdict([], [`${path} is a ${MODE_WORDS[mode]} ${excerpt(mount.fsType, 40)} mount in ${check.service}`]);
}

async function attemptFile(check: Kind<'file'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  const path = excerpt(check.path, 120);
  // -L: the file a program opening the path gets (a symlink to a regular file passes).
  const stat = await execIn(ctx, check.service, ['stat', '-L', '-c', '%a|%s|%F', '--', check.path], { timeoutMs: remaining() });
  if (!stat.ok) return failed(stat.reason);
  if (stat.exitCode !== 0) return failed(unreadable(stat, check.path, check.service, 'stat'));
  const [modeText = '', sizeText = '', ...typeParts] = stat.stdout.trim().split('|');
  const type = typeParts.join('|');
  if (!type.startsWith('regular')) return failed(`${path} is a ${excerpt(type, 40)}, not a regular file, in ${check.service}`);
  const failures: string[] = [];
  const verified = [`${path} is a regular file in ${check.service}`];
  if (check.mode !== undefined) {
    const expected = parseOctalMode(check.mode);
    const actual = parseOctalMode(modeText);
    if (actual === undefined) failures.push(`could not read the mode of ${path} in ${check.service} (stat said ${quote(modeText)})`);
    else if (actual !== expected) failures.push(`${path} has mode ${formatMode(actual)} in ${check.service}, expected ${expected === undefined ? quote(check.mode) : formatMode(expected)}`);
    else verified.push(`mode ${formatMode(actual)}`);
  }
  if (check.sha256 !== undefined) {
    const hashed = await execIn(ctx, check.service, ['sha256sum', '--', check.path], { timeoutMs: remaining() });
    if (!hashed.ok) failures.push(hashed.reason);
    else if (hashed.exitCode !== 0) failures.push(unreadable(hashed, check.path, check.service, 'hash'));
    else {
      const actual = /^\\?([0-9a-f]{64})\b/.exec(hashed.stdout)?.[1];
      if (actual === undefined) failures.push(`could not hash ${path} in ${check.service}: sha256sum said ${quote(hashed.stdout)}`);
      else if (actual !== check.sha256) failures.push(`${path} has sha256 ${actual} in ${check.service}, expected ${check.sha256}`);
      else verified.push(`sha256 ${actual}`);
    }
  }
  if (check.contains !== undefined) {
    const read = await execIn(ctx, check.service, ['head', '-c', String(MAX_READ_BYTES), '--', check.path], { timeoutMs: remaining() });
    if (!read.ok) failures.push(read.reason);
    else if (read.exitCode !== 0) failures.push(unreadable(read, check.path, check.service, 'read'));
    else if (!read.stdout.includes(check.contains)) {
      const partly = Number(sizeText) > MAX_READ_BYTES ? ' (in its first MiB)' : '';
      failures.push(`${path} does not contain ${quote(check.contains)}${partly} in ${check.service}`);
    } else verified.push(`contains ${quote(check.contains)}`);
  }
  return verdict(failures, verified);
}

async function attemptCertificate(check: Kind<'certificate'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  const path = excerpt(check.path, 120);
  const read = await execIn(ctx, check.service, ['head', '-c', String(MAX_READ_BYTES), '--', check.path], { timeoutMs: remaining() });
  if (!read.ok) return failed(read.reason);
  if (read.exitCode !== 0) return failed(unreadable(read, check.path, check.service, 'read'));
  const parsed = readFirstCertificate(read.stdout);
  if (!parsed.ok) return failed(`${path} in ${check.service} ${parsed.reason}`);
  const judged = judgeCertificate(parsed.facts, { now: ctx.now(), minDays: check.minDays, subject: check.subject });
  return { passed: judged.passed, reasons: judged.reasons.map((reason) => `the certificate in ${path} ${reason}`) };
}

/** Names whose values are not shown in reasons (a failing check must not print a password). */
const SECRET_NAME = /pass|secret|token|key|credential|auth|private/i;

function showEnvValue(variable: string, value: string): string {
  if (SECRET_NAME.test(variable)) return `(hidden, ${value.length} characters)`;
  // Credentials inside URLs (postgres://user:password@host) are never shown either.
  return quote(value.replace(/(\/\/[^/:@\s]*):[^@/\s]*@/g, '$1:***@'));
}

async function attemptEnv(check: Kind<'env'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  let pattern: RegExp | undefined;
  if (check.matches !== undefined) {
    try {
      pattern = new RegExp(check.matches);
    } catch (error) {
      return failed(`the pattern /${excerpt(check.matches, 80)}/ is not a valid regular expression: ${excerpt((error as Error).message, 120)}`, true);
    }
  }
  // The environment every process in the container starts with (the configured env, as exec
  // applies it) is what `cat` itself got: no `env` binary or access to PID 1 needed.
  const read = mustSucceed(await execIn(ctx, check.service, ['cat', '/proc/self/environ'], { timeoutMs: remaining() }), 'read the environment', check.service);
  if (!read.ok) return failed(read.reason);
  const name = excerpt(check.variable, 80);
  const value = parseEnviron(read.stdout).get(check.variable);
  if (value === undefined) return failed(`${name} is not set in ${check.service}`);
  const failures: string[] = [];
  if (check.value !== undefined && value !== check.value) failures.push(`${name} is ${showEnvValue(check.variable, value)} in ${check.service}, expected ${showEnvValue(check.variable, check.value)}`);
  if (pattern !== undefined && !pattern.test(value)) failures.push(`${name} is ${showEnvValue(check.variable, value)} in ${check.service}, which does not match /${excerpt(check.matches ?? '', 80)}/`);
  return verdict(failures, [`${name} is ${showEnvValue(check.variable, value)} in ${check.service}`]);
}

async function attemptHttp(check: Kind<'http'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  const published = ctx.publishedAddress(check.service, check.port);
  if (published === undefined) {
    // Published ports are fixed when a container is created: retrying cannot help.
    const what = check.port === undefined ? 'publishes no TCP port' : `does not publish container port ${check.port}`;
    return failed(`${check.service} ${what} on the host, so it cannot be reached over HTTP`, true);
  }
  // Appended, not resolved: a path like `//other.host/` must not change the host.
  const url = new URL(`http://${formatHostPort(reachableHost(published.host), published.port)}${check.path}`);
  const shown = `GET ${excerpt(url.href, 160)}`;
  const response = await httpGet(url, Math.min(remaining(), REQUEST_TIMEOUT_MS), ctx.signal);
  if (!response.ok) return failed(`${shown}: ${response.reason}`);
  const failures: string[] = [];
  const verified = [`${shown} answered ${response.status}`];
  if (response.status !== check.status) {
    const body = excerpt(response.body, 120);
    failures.push(`${shown} answered ${response.status}, expected ${check.status}${body ? `: ${body}` : ''}`);
  }
  if (check.contains !== undefined) {
    if (response.body.includes(check.contains)) verified.push(`the body contains ${quote(check.contains)}`);
    else failures.push(`the answer to ${shown} does not contain ${quote(check.contains)}${response.truncated ? ' (in its first MiB)' : ''}`);
  }
  return verdict(failures, verified);
}

async function attemptCommand(check: Kind<'command'>, ctx: CheckContext, remaining: Remaining): Promise<Attempt> {
  const command = showCommand(check.run);
  const run = await execIn(ctx, check.service, check.run, { timeoutMs: remaining() });
  if (!run.ok) return failed(run.reason);
  const output = excerpt(run.output, 200);
  const failures: string[] = [];
  if (run.exitCode !== check.exitCode) failures.push(`${command} exited with ${run.exitCode} in ${check.service}, expected ${check.exitCode}${output ? `; output: ${output}` : ''}`);
  if (check.contains !== undefined && !run.output.includes(check.contains)) {
    failures.push(`the output of ${command} in ${check.service} does not contain ${quote(check.contains)}${run.truncated ? ' (in its first MiB)' : ''}${output ? `; output: ${output}` : ''}`);
  }
  return verdict(failures, [`${command} exited with ${run.exitCode} in ${check.service}`, ...(check.contains !== undefined ? [`its output contains ${quote(check.contains)}`] : [])]);
}
