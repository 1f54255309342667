/**
 * Pure readers of what a container's /proc says (read through exec `cat`, because minimal images
 * have no ss, netstat or findmnt): listening sockets, mount points, the environment, file modes.
 */
import { posix } from 'node:path';

export interface ProcNetSocket {
  family: 'ipv4' | 'ipv6';
  /** Printable address, e.g. `0.0.0.0`, `127.0.0.1`, `::`, `::1`. */
  address: string;
  port: number;
  /** The kernel's TCP state in hex; `0A` is LISTEN. */
  state: string;
  listening: boolean;
}

const TCP_LISTEN = '0A';

// `   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 …` (the header line does not match).
const SOCKET_LINE = /^\s*\d+:\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:[0-9A-Fa-f]{4}\s+([0-9A-Fa-f]{2})\s/;

/**
 * The sockets in `/proc/net/tcp` and `/proc/net/tcp6` text (both may be concatenated). Addresses
 * are printed by the kernel as 32-bit words in host byte order; little-endian hosts (x86-64,
 * arm64) are assumed. Ports are printed big-endian. Lines that do not parse are skipped.
 */
export function parseProcNetTcp(text: string): ProcNetSocket[] {
  const sockets: ProcNetSocket[] = [];
  for (const line of text.split('\n')) {
    const match = SOCKET_LINE.exec(line);
    if (!match) continue;
    const [, hexAddress, hexPort, hexState] = match as unknown as [string, string, string, string];
    const state = hexState.toUpperCase();
    const family = hexAddress.length === 8 ? 'ipv4' : 'ipv6';
    sockets.push({
      family,
      address: family === 'ipv4' ? decodeIpv4(hexAddress) : decodeIpv6(hexAddress),
      port: Number.parseInt(hexPort, 16),
      state,
      listening: state === TCP_LISTEN,
    });
  }
  return sockets;
}

function decodeIpv4(hex: string): string {
  return [...Buffer.from(hex, 'hex').reverse()].join('.');
}

function decodeIpv6(hex: string): string {
  const bytes = Buffer.concat([0, 8, 16, 24].map((offset) => Buffer.from(hex.slice(offset, offset + 8), 'hex').reverse()));
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(bytes.readUInt16BE(index).toString(16));
  // The WHATWG URL parser prints IPv6 in its canonical compressed form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** True for addresses only reachable from inside the container itself. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:7f');
}

export interface MountEntry {
  /** Path inside the mount's filesystem that is mounted (`/` for a whole filesystem). */
  root: string;
  mountPoint: string;
  /** Per-mount options, e.g. `rw`, `ro`, `nosuid`, `relatime`. */
  options: string[];
  fsType: string;
  source: string;
  /** Per-superblock options. */
  superOptions: string[];
}

/**
 * The mounts in `/proc/self/mountinfo` text:
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue` (proc(5)).
 * Optional fields end at the lone `-`; paths escape space, tab, newline and backslash as octal.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const mounts: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator === -1 || fields.length < separator + 4) continue;
    mounts.push({
      root: unescapeMountPath(fields[3]!),
      mountPoint: unescapeMountPath(fields[4]!),
      options: fields[5]!.split(','),
      fsType: fields[separator + 1]!,
      source: unescapeMountPath(fields[separator + 2]!),
      superOptions: fields[separator + 3]!.split(','),
    });
  }
  return mounts;
}

function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mount whose mount point is exactly `path` (the last one wins: later mounts hide earlier ones). */
export function findMount(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  const wanted = normaliseMountPath(path);
  return mounts.findLast((mount) => mount.mountPoint === wanted);
}

/** `/data/` → `/data`; `/a/../b` → `/b`; `/` stays. */
export function normaliseMountPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** A mount is read-only when either the mount or its superblock is. */
export function mountMode(mount: MountEntry): 'ro' | 'rw' {
  return mount.options.includes('ro') || mount.superOptions.includes('ro') ? 'ro' : 'rw';
}

/** `NAME=value` pairs separated by NUL (`/proc/<pid>/environ`); the first of a repeated name wins, as getenv does. */
export function parseEnviron(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    const name = entry.slice(0, equals);
    if (!variables.has(name)) variables.set(name, entry.slice(equals + 1));
  }
  return variables;
}

/** An octal mode as written in a definition or printed by `stat -c %a` ("644", "0644", "4755") → its number; undefined if it is not one. */
export function parseOctalMode(text: string): number | undefined {
  const match = /^0*([0-7]{1,4})$/.exec(text.trim());
  return match ? Number.parseInt(match[1]!, 8) : undefined;
}

/** A mode number → the four-digit octal form people write ("0644"). */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
