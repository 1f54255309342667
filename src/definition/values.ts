/**
 * Parsers for the small string formats a definition uses (durations, ports, volumes, commands).
 * Pure; each throws a ValueProblem with a message and a hint the schema turns into a diagnostic.
 */
import { posix } from 'node:path';
import { parse as parseShellWords } from 'shell-quote';

export class ValueProblem extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const DURATION_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(us|ms|s|m|h)/g;
export const DURATION_PATTERN = '^(\\d+(\\.\\d+)?(us|ms|s|m|h))+$';

/** Go-style durations as Compose writes them (`30s`, `1m30s`, `500ms`) → milliseconds. */
export function parseDurationMs(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) {
    throw new ValueProblem(`invalid duration "${text}"`, 'write a number with a unit: 500ms, 30s, 1m30s, 2h');
  }
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  return Math.round(total * 1000) / 1000;
}

/** Percentages as `1%` or a fraction `0.01` → a fraction in [0, 1]. */
export function parseFraction(value: string | number): number {
  const fraction =
    typeof value === 'number' ? value : /^\d+(\.\d+)?%$/.test(value) ? Number(value.slice(0, -1)) / 100 : /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    throw new ValueProblem(`invalid percentage "${value}"`, 'write a percentage such as 1% or 0.5%, or a fraction such as 0.01');
  }
  return fraction;
}

export type Protocol = 'tcp' | 'udp';

export interface PortBinding {
  /** Port inside the container. */
  target: number;
  /** Host port; undefined means the engine picks a free one. */
  published: number | undefined;
  /** Host address; envctl defaults to 127.0.0.1 (Compose defaults to all interfaces). */
  hostIp: string;
  protocol: Protocol;
  /** Swarm only (long syntax `mode:`): `ingress` (routing mesh, Compose's default) or `host` (the node running the task). */
  mode?: 'host' | 'ingress';
}

export const DEFAULT_HOST_IP = '127.0.0.1';
/** Port ranges are expanded; a larger range is refused as a likely typo. */
const MAX_PORT_RANGE = 1000;

export function parsePortNumber(text: string | number, what: string): number {
  const port = typeof text === 'number' ? text : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValueProblem(`invalid ${what} "${text}"`, 'ports are whole numbers from 1 to 65535');
  }
  return port;
}

function parsePortRange(text: string, what: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (!range) return [parsePortNumber(text, what)];
  const start = parsePortNumber(range[1]!, what);
  const end = parsePortNumber(range[2]!, what);
  if (end < start || end - start >= MAX_PORT_RANGE) {
    throw new ValueProblem(`invalid ${what} range "${text}"`, `write start-end with start ≤ end and at most ${MAX_PORT_RANGE} ports`);
  }
  return Array.from({ length: end - start + 1 }, (_, index) => start + index);
}

/**
 * Compose short port syntax: `3000`, `8080:3000`, `127.0.0.1:8080:3000`, `[::1]:8080:3000`,
 * `9090-9091:8080-8081`, `53:53/udp`, `127.0.0.1::3000` (host port chosen by the engine).
 */
export function parsePortShort(value: string | number): PortBinding[] {
  const text = String(value).trim();
  const [spec, protocolText = 'tcp'] = text.split('/') as [string, string | undefined];
  if (protocolText !== 'tcp' && protocolText !== 'udp') {
    throw new ValueProblem(`invalid protocol "${protocolText}" in port "${text}"`, 'use tcp or udp');
  }
  let hostIp = DEFAULT_HOST_IP;
  let rest = spec;
  const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (ipv6) {
    hostIp = ipv6[1]!;
    rest = ipv6[2]!;
  }
  const parts = rest.split(':');
  if (parts.length > 3 || (ipv6 && parts.length !== 2)) {
    throw new ValueProblem(`invalid port "${text}"`, 'write [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 127.0.0.1:8080:3000');
  }
  if (parts.length === 3) hostIp = parts.shift()!;
  const [first, second] = parts as [string, string | undefined];
  const targets = parsePortRange(second ?? first, 'container port');
  const publishedText = second === undefined ? '' : first;
  const published = publishedText === '' ? undefined : parsePortRange(publishedText, 'host port');
  if (published && published.length !== targets.length && published.length !== 1) {
    throw new ValueProblem(`port ranges differ in length in "${text}"`, 'the host and container ranges must have the same number of ports');
  }
  if (published && published.length === 1 && targets.length > 1) {
    throw new ValueProblem(`one host port for a range of container ports in "${text}"`, 'give a host range of the same length');
  }
  if (hostIp === '') hostIp = DEFAULT_HOST_IP;
  return targets.map((target, index) => ({ target, published: published?.[index], hostIp, protocol: protocolText }));
}

export type MountType = 'volume' | 'bind' | 'tmpfs';

export interface Mount {
  type: MountType;
  /** Volume name, or host path for binds (as written; made absolute when resolving); absent for anonymous volumes and tmpfs. */
  source: string | undefined;
  target: string;
  readOnly: boolean;
  /** tmpfs only, in bytes. */
  tmpfsSize?: number | undefined;
}

const VOLUME_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'cached', 'delegated', 'consistent']);

/** Compose short volume syntax: `/data`, `name:/data`, `./src:/app:ro`, `~/x:/y:rw`. */
export function parseVolumeShort(text: string): Mount {
  const parts = text.split(':');
  if (parts.length > 3 || parts.some((part) => part === '')) {
    throw new ValueProblem(`invalid volume "${text}"`, 'write [SOURCE:]TARGET[:MODE], e.g. dbdata:/var/lib/postgresql/data or ./src:/app:ro');
  }
  if (parts.length === 1) return { type: 'volume', source: undefined, target: checkTarget(parts[0]!, text), readOnly: false };
  const [source, target, modeText = 'rw'] = parts as [string, string, string | undefined];
  const modes = modeText.split(',');
  for (const mode of modes) {
    if (!VOLUME_MODES.has(mode)) throw new ValueProblem(`invalid volume mode "${mode}" in "${text}"`, 'use ro or rw (and z/Z for SELinux)');
  }
  const isPath = /^[./~]/.test(source);
  return { type: isPath ? 'bind' : 'volume', source, target: checkTarget(target, text), readOnly: modes.includes('ro') };
}

/** The container path of a short-form mount, cleaned like Compose does (`/data/` → `/data`, `/a//b` → `/a/b`). */
function checkTarget(target: string, text: string): string {
  if (!target.startsWith('/')) throw new ValueProblem(`the container path in volume "${text}" must be absolute`, 'start it with /');
  const clean = posix.normalize(target);
  return clean.length > 1 ? clean.replace(/\/+$/, '') : clean;
}

/** Size strings as Compose writes them (`64m`, `1g`, `512k`, plain bytes). */
export function parseByteSize(value: string | number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = /^(\d+)\s*([bkmg]?)b?$/i.exec(String(value));
  if (!match) throw new ValueProblem(`invalid size "${value}"`, 'write bytes or a number with k, m or g, e.g. 64m');
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase()]!;
  return Number(match[1]) * unit;
}

/**
 * A command written as one string is split into words the way a shell would split them, but
 * nothing is run through a shell: quotes group words, and operators, globs, substitutions and
 * comments are refused so they are never mistaken for plain arguments.
 */
export function parseCommandWords(text: string): string[] {
  if (hasUnclosedQuote(text)) {
    throw new ValueProblem(`the command "${text}" has an unclosed quote`, 'close the quote, or write the command as a list');
  }
  // `$` is literal here (interpolation already ran): hide it from shell-quote's variable expansion.
  const entries = parseShellWords(text.replaceAll('$', DOLLAR), (name) => `${DOLLAR}${name}`);
  const words: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      words.push(entry.replaceAll(DOLLAR, '$'));
      continue;
    }
    const what = 'op' in entry ? `the shell operator "${entry.op}"` : 'comment' in entry ? 'a comment' : 'a shell construct';
    throw new ValueProblem(
      `the command "${text}" contains ${what}; commands are not run through a shell`,
      'write the command as a list, e.g. ["sh", "-c", "a && b"] if you need a shell',
    );
  }
  if (words.length === 0) throw new ValueProblem('the command is empty', 'write the program and its arguments, e.g. ["node", "server.js"]');
  return words;
}

/** A private-use character standing in for `$` while a command string is split. */
const DOLLAR = '\uE000';

function hasUnclosedQuote(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quote === undefined) {
      if (ch === '\\') i += 1;
      else if (ch === '"' || ch === "'") quote = ch;
    } else if (quote === '"' && ch === '\\') {
      i += 1;
    } else if (ch === quote) {
      quote = undefined;
    }
  }
  return quote !== undefined;
}

/** `KEY=VALUE` lists (environment, labels, build args) → a map; `KEY` alone → null (taken from the host). */
export function parseKeyValueList(items: readonly string[], what: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of items) {
    const index = item.indexOf('=');
    const key = index < 0 ? item : item.slice(0, index);
    if (key === '' || /\s/.test(key) || key === '__proto__') throw new ValueProblem(`invalid ${what} entry "${item}"`, 'write KEY=VALUE');
    if (Object.hasOwn(out, key)) throw new ValueProblem(`${what} "${key}" is set twice`, 'keep one of them');
    out[key] = index < 0 ? null : item.slice(index + 1);
  }
  return out;
}
