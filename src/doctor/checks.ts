/**
 * `envctl doctor`'s checks: each turns what a probe found into one verdict with, for a problem, the
 * fix. Pure: the probes (engine, file system, sockets) run in doctor.ts and come in as values.
 */
import type { EngineInfo } from '../engine/types.js';

/**
 * ok and warn need nothing from the user to go on (a warning says what may bite later); fail makes
 * the doctor exit 1; info is a fact that is no problem (nothing to check, an optional tool);
 * skipped means a check could not run because another one failed.
 */
export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'info' | 'skipped';

export interface DoctorCheck {
  /** Stable key for scripts (`node`, `engine`, `base-images` …). */
  id: string;
  name: string;
  status: DoctorStatus;
  detail: string;
  /** What to do about it; absent when there is nothing to do. */
  fix?: string;
}

/** The images `envctl images build` (and `npm run setup`) builds locally from Debian packages; demo, templates and the release proxy run on them. */
export const BASE_IMAGES = ['envctl/base-debian:12', 'envctl/base-node:24', 'envctl/base-postgres:15', 'envctl/base-redis:7'] as const;

export const MIN_NODE_MAJOR = 22;

/** Under this much free space (bytes) builds and volumes start failing half-way: warn. */
export const LOW_DISK_BYTES = 2 * 1024 ** 3;

/** What a probe returned, or why it could not (already one line: an error's message). */
export type Probed<T> = { ok: true; value: T } | { ok: false; error: string; hint?: string | undefined };

const SETUP_FIX = '`npm run setup` installs and starts the engine where it is missing and builds the base images locally (no registry needed)';

/** The fix for missing base images: the published CLI builds them itself (src/images/base-images.ts). */
const BASE_IMAGES_FIX = (missing: readonly string[]) =>
  `run \`envctl images build${missing.length === BASE_IMAGES.length ? '' : ` ${missing.join(' ')}`}\`: it builds them on this machine from Debian packages (no registry; needs root or passwordless sudo, and debootstrap: \`sudo apt-get install -y debootstrap debian-archive-keyring\`); in envctl's repository \`npm run setup\` does the same`;

export function checkNode(node: { version: string; execPath: string }): DoctorCheck {
  const major = Number.parseInt(node.version.replace(/^v/, ''), 10);
  const detail = `${node.version} (${node.execPath})`;
  if (Number.isFinite(major) && major >= MIN_NODE_MAJOR) return { id: 'node', name: 'node', status: 'ok', detail };
  return {
    id: 'node',
    name: 'node',
    status: 'fail',
    detail: `${detail} is older than ${MIN_NODE_MAJOR}`,
    fix: `use Node ${MIN_NODE_MAJOR} or later (24 LTS): \`npm run setup\` puts Node 24 in .tools/bin; run \`export PATH="$PWD/.tools/bin:$PATH"\``,
  };
}

export function checkEngine(engine: Probed<EngineInfo>): DoctorCheck {
  if (engine.ok) {
    const info = engine.value;
    return { id: 'engine', name: 'engine', status: 'ok', detail: `Docker Engine ${info.version} (API ${info.apiVersion}, ${info.arch ? `${info.os}/${info.arch}` : info.os}) at ${info.endpoint}` };
  }
  return { id: 'engine', name: 'engine', status: 'fail', detail: engine.error, fix: engine.hint ?? `start dockerd, or point DOCKER_HOST at a running engine; ${SETUP_FIX}` };
}

/** Engine 28 is where ports published on 127.0.0.1 stop being reachable from the LAN (see `up`'s warning). */
export function checkEngineVersion(engine: Probed<EngineInfo>, loopbackWarning: (version: string) => string | undefined): DoctorCheck {
  const base = { id: 'engine-version', name: 'engine version' };
  if (!engine.ok) return { ...base, status: 'skipped', detail: 'needs a reachable engine' };
  const { version } = engine.value;
  if (!Number.isFinite(Number.parseInt(version, 10))) return { ...base, status: 'info', detail: `cannot tell the major version from "${version}"` };
  const warning = loopbackWarning(version);
  if (warning === undefined) return { ...base, status: 'ok', detail: `${version}: ports published on 127.0.0.1 stay on this machine` };
  return { ...base, status: 'warn', detail: warning, fix: 'install Docker Engine 28 or later (https://docs.docker.com/engine/install/) on machines that share a network with others' };
}

export function checkBaseImages(engine: Probed<EngineInfo>, present: Probed<ReadonlySet<string>> | undefined): DoctorCheck {
  const base = { id: 'base-images', name: 'base images' };
  if (!engine.ok || present === undefined) return { ...base, status: 'skipped', detail: 'needs a reachable engine' };
  if (!present.ok) return { ...base, status: 'fail', detail: `cannot list the images: ${present.error}`, fix: present.hint ?? 'check that dockerd is healthy (`docker info`)' };
  const missing = BASE_IMAGES.filter((ref) => !present.value.has(ref));
  if (missing.length === 0) return { ...base, status: 'ok', detail: BASE_IMAGES.join(', ') };
  return { ...base, status: 'fail', detail: `missing ${missing.join(', ')} (${BASE_IMAGES.length - missing.length} of ${BASE_IMAGES.length} present)`, fix: BASE_IMAGES_FIX(missing) };
}

export function checkProxyBundle(path: string, size: Probed<number>): DoctorCheck {
  const base = { id: 'proxy-bundle', name: 'proxy bundle' };
  if (size.ok) return { ...base, status: 'ok', detail: `${path} (${formatBytes(size.value)})` };
  return { ...base, status: 'fail', detail: `${path} cannot be read (${size.error}); \`envctl release\` needs it`, fix: 'run `npm run build` in the envctl folder: it writes dist/proxy/bundle.mjs' };
}

export interface DiskTarget {
  id: string;
  name: string;
  path: string;
  /** What frees space there, for the fix. */
  freeUp: string;
}

/** `notHere`: the free space cannot be read from this machine (a remote engine), and why; undefined: the engine did not answer. */
export function checkDiskSpace(target: DiskTarget, free: Probed<number> | { notHere: string } | undefined): DoctorCheck {
  const base = { id: target.id, name: target.name };
  if (free === undefined) return { ...base, status: 'skipped', detail: 'needs a reachable engine' };
  if ('notHere' in free) return { ...base, status: 'info', detail: free.notHere };
  if (!free.ok) return { ...base, status: 'info', detail: `cannot read the free space of ${target.path}: ${free.error}` };
  const detail = `${formatBytes(free.value)} free at ${target.path}`;
  if (free.value >= LOW_DISK_BYTES) return { ...base, status: 'ok', detail };
  return { ...base, status: 'warn', detail: `only ${detail} (under ${formatBytes(LOW_DISK_BYTES)}: builds and volumes may fail half-way)`, fix: target.freeUp };
}

/** What loading the definition in this folder gave. */
export type DefinitionProbe =
  | { kind: 'none'; cwd: string }
  | { kind: 'loaded'; file: string; project: string; env: string; services: number; warnings: number }
  | { kind: 'invalid'; message: string; hint: string | undefined; diagnostics: ReadonlyArray<{ file: string; line: number; col: number; message: string; hint?: string | undefined }> };

export function checkDefinition(definition: DefinitionProbe): DoctorCheck {
  const base = { id: 'definition', name: 'definition' };
  switch (definition.kind) {
    case 'none':
      return { ...base, status: 'info', detail: `none in ${definition.cwd} or its parents (checks that need one are skipped)` };
    case 'loaded': {
      const warnings = definition.warnings > 0 ? `, ${definition.warnings} warning${definition.warnings === 1 ? '' : 's'} (\`envctl validate\` shows them)` : '';
      return { ...base, status: 'ok', detail: `${definition.file}: project ${definition.project}, env ${definition.env}, ${definition.services} service${definition.services === 1 ? '' : 's'}${warnings}` };
    }
    case 'invalid': {
      const [first] = definition.diagnostics;
      if (first === undefined) return { ...base, status: 'fail', detail: definition.message, fix: definition.hint ?? 'run `envctl validate` for the details' };
      const count = definition.diagnostics.length;
      const more = count > 1 ? ` (and ${count - 1} more)` : '';
      return {
        ...base,
        status: 'fail',
        detail: `${count} error${count === 1 ? '' : 's'} in ${first.file}; first: ${first.file}:${first.line}:${first.col} ${first.message}${more}`,
        fix: count === 1 && first.hint ? `${first.hint} (\`envctl validate\` shows it in context)` : 'run `envctl validate`: it shows each error with its location and a hint',
      };
    }
  }
}

export interface ProbedPort {
  service: string;
  hostIp: string;
  published: number;
  protocol: 'tcp' | 'udp';
  /** One of this environment's own containers publishes it already (`up` keeps or replaces it). */
  heldByEnvironment: boolean;
  /** Why it cannot be bound (`already in use`); undefined when free or held by the environment. */
  problem: string | undefined;
}

/** `ports` undefined: there is no loaded definition to take them from. */
export function checkPorts(ports: readonly ProbedPort[] | undefined): DoctorCheck {
  const base = { id: 'ports', name: 'ports' };
  if (ports === undefined) return { ...base, status: 'skipped', detail: 'needs a definition that loads' };
  if (ports.length === 0) return { ...base, status: 'ok', detail: 'the definition publishes no fixed host ports' };
  const address = (port: ProbedPort) => `${port.hostIp}:${port.published}/${port.protocol} (${port.service})`;
  const taken = ports.filter((port) => !port.heldByEnvironment && port.problem !== undefined);
  if (taken.length > 0) {
    return {
      ...base,
      status: 'fail',
      detail: `not available: ${taken.map((port) => `${address(port)}: ${port.problem}`).join('; ')}`,
      fix: 'stop what uses it (`ss -ltnp` shows the process) or publish the service on another port',
    };
  }
  const held = ports.filter((port) => port.heldByEnvironment);
  const free = ports.filter((port) => !port.heldByEnvironment);
  const parts = [free.length > 0 ? `free: ${free.map(address).join(', ')}` : '', held.length > 0 ? `held by this environment's own containers: ${held.map(address).join(', ')}` : ''];
  return { ...base, status: 'ok', detail: parts.filter((part) => part !== '').join('; ') };
}

export function checkTmux(path: string | undefined): DoctorCheck {
  const base = { id: 'tmux', name: 'tmux' };
  if (path !== undefined) return { ...base, status: 'ok', detail: `${path} (the monitor's terminal test uses it)` };
  return { ...base, status: 'info', detail: "not found; only the monitor's terminal test needs it", fix: 'to run that test: `apt-get install tmux`' };
}

/** 1536 → `1.5 KiB`; binary units, one decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
