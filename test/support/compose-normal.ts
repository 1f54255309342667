/**
 * One normal form for a service, built from two sides: envctl's model, and what
 * `docker-compose config` (1.29) prints. Only the fields envctl supports are compared. Where envctl
 * deliberately differs from Compose (README, "Where envctl deliberately differs"), the peer side is
 * mapped to envctl's documented behaviour, and nothing else is changed:
 * - a port without a host address binds 127.0.0.1 in envctl (Compose: all interfaces);
 * - `init` defaults to true in envctl (not compared).
 * docker-compose 1.29 prints its own normal form, which is read back here: ports as long-form maps or
 * `ip:published:target/proto` strings, mounts as `source:target:mode` strings, durations as Go
 * strings (`1m30s`), healthcheck tests as a string (run by the container shell) or a list,
 * commands as a string (split at run time with Python's `shlex.split`) or a list, `$` escaped as `$$`.
 */
import { execa } from 'execa';
import type { EnvironmentModel, ServiceModel } from '../../src/definition/model.js';

export interface NormalPort {
  target: number;
  published: number | null;
  hostIp: string;
  protocol: string;
}

export interface NormalMount {
  type: string;
  source: string | null;
  target: string;
  readOnly: boolean;
}

export interface NormalHealthcheck {
  disabled: boolean;
  test?: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface NormalService {
  image: string | null;
  build: { context: string; dockerfile: string; args: Record<string, string>; target: string | null } | null;
  command: string[] | null;
  entrypoint: string[] | null;
  environment: Record<string, string>;
  ports: NormalPort[];
  expose: string[];
  mounts: NormalMount[];
  dependsOn: Record<string, string>;
  healthcheck: NormalHealthcheck | null;
  networks: Record<string, string[]>;
  labels: Record<string, string>;
  restart: string;
  workingDir: string | null;
  user: string | null;
  stopSignal: string | null;
  stopGracePeriodMs: number | null;
  profiles: string[];
}

export interface NormalVolume {
  external: boolean;
  driver: string;
  labels: Record<string, string>;
}

export interface NormalNetwork {
  external: boolean;
  driver: string;
  internal: boolean;
  labels: Record<string, string>;
}

export interface NormalProject {
  services: Record<string, NormalService>;
  volumes: Record<string, NormalVolume>;
  networks: Record<string, NormalNetwork>;
}

/** The port envctl publishes on when none is written (README: deliberate difference). */
const ENVCTL_DEFAULT_HOST_IP = '127.0.0.1';

const sortPorts = (ports: NormalPort[]) =>
  [...ports].sort((a, b) => a.target - b.target || a.protocol.localeCompare(b.protocol) || (a.published ?? 0) - (b.published ?? 0) || a.hostIp.localeCompare(b.hostIp));
const sortMounts = (mounts: NormalMount[]) => [...mounts].sort((a, b) => a.target.localeCompare(b.target));
const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

// ---------------------------------------------------------------------------------------------
// envctl side

export function normaliseEnvctl(model: EnvironmentModel): NormalProject {
  const services: Record<string, NormalService> = {};
  for (const [name, service] of Object.entries(model.services)) services[name] = normaliseEnvctlService(service);
  const volumes: Record<string, NormalVolume> = {};
  for (const [key, volume] of Object.entries(model.volumes)) volumes[key] = { external: volume.external, driver: volume.driver, labels: sorted(volume.labels) };
  const networks: Record<string, NormalNetwork> = {};
  for (const [key, network] of Object.entries(model.networks)) {
    networks[key] = { external: network.external, driver: network.driver, internal: network.internal, labels: sorted(network.labels) };
  }
  return { services: sortKeys(services), volumes: sortKeys(volumes), networks: sortKeys(networks) };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function normaliseEnvctlService(service: ServiceModel): NormalService {
  const check = service.healthcheck;
  return {
    image: service.image ?? null,
    build: service.build ? { context: service.build.context, dockerfile: service.build.dockerfile, args: sorted(service.build.args), target: service.build.target ?? null } : null,
    command: service.command ?? null,
    entrypoint: service.entrypoint ?? null,
    environment: sorted(service.environment),
    ports: sortPorts(service.ports.map((port) => ({ target: port.target, published: port.published ?? null, hostIp: port.hostIp, protocol: port.protocol }))),
    expose: [...service.expose].map((port) => port.replace(/\/tcp$/, '')).sort(),
    mounts: sortMounts(service.mounts.map((mount) => ({ type: mount.type, source: mount.source ?? null, target: mount.target, readOnly: mount.readOnly }))),
    dependsOn: Object.fromEntries(Object.entries(service.dependsOn).map(([name, dependency]) => [name, dependency.condition]).sort(([a], [b]) => a!.localeCompare(b!))),
    healthcheck: !check
      ? null
      : check.disabled
        ? { disabled: true }
        : { disabled: false, test: check.test, intervalMs: check.intervalMs, timeoutMs: check.timeoutMs, retries: check.retries, startPeriodMs: check.startPeriodMs },
    networks: Object.fromEntries(Object.entries(service.networks).map(([name, attach]) => [name, [...attach.aliases].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
    labels: sorted(service.labels),
    restart: service.restart,
    workingDir: service.workingDir ?? null,
    user: service.user ?? null,
    stopSignal: service.stopSignal ?? null,
    stopGracePeriodMs: service.stopGracePeriodMs ?? null,
    profiles: [...service.profiles].sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// docker-compose side

type Raw = Record<string, unknown>;

const isRecord = (value: unknown): value is Raw => value !== null && typeof value === 'object' && !Array.isArray(value);
/** docker-compose config escapes `$` as `$$` so its output can be read again. */
const unescape = (value: unknown): string => String(value).replaceAll('$$', '$');

/** Go durations as docker-compose prints them (`1m30s`, `500ms`) → milliseconds. */
export function composeDurationMs(text: unknown): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const source = String(text);
  let total = 0;
  let matched = '';
  for (const part of source.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)) {
    total += Number(part[1]) * units[part[2]!]!;
    matched += part[0];
  }
  if (matched !== source) throw new Error(`docker-compose printed a duration this normaliser does not read: ${source}`);
  return Math.round(total);
}

/** Python's `shlex.split`, which docker-compose applies to a string command when it runs it. */
export async function shlexSplit(texts: readonly string[]): Promise<string[][]> {
  if (texts.length === 0) return [];
  const { stdout } = await execa('python3', ['-c', 'import json, shlex, sys; print(json.dumps([shlex.split(t) for t in json.load(sys.stdin)]))'], { input: JSON.stringify(texts) });
  return JSON.parse(stdout) as string[][];
}

function peerPorts(ports: unknown): NormalPort[] {
  const out: NormalPort[] = [];
  for (const port of Array.isArray(ports) ? ports : []) {
    if (isRecord(port)) {
      out.push({
        target: Number(port.target),
        published: port.published === undefined ? null : Number(port.published),
        hostIp: port.host_ip ? String(port.host_ip) : ENVCTL_DEFAULT_HOST_IP,
        protocol: port.protocol ? String(port.protocol) : 'tcp',
      });
      continue;
    }
    // `ip:published:target/proto` (1.29 prints this legacy form when a host address is set).
    const [address, protocol = 'tcp'] = String(port).split('/');
    const parts = address!.split(':');
    const target = parts.pop()!;
    const published = parts.pop();
    const hostIp = parts.join(':');
    out.push({ target: Number(target), published: published ? Number(published) : null, hostIp: hostIp || ENVCTL_DEFAULT_HOST_IP, protocol });
  }
  return sortPorts(out);
}

function peerMounts(volumes: unknown, namedVolumes: ReadonlySet<string>): NormalMount[] {
  const out: NormalMount[] = [];
  for (const volume of Array.isArray(volumes) ? volumes : []) {
    if (isRecord(volume)) {
      out.push({ type: String(volume.type), source: volume.source === undefined ? null : String(volume.source), target: String(volume.target), readOnly: volume.read_only === true });
      continue;
    }
    const parts = String(volume).split(':');
    if (parts.length === 1) {
      out.push({ type: 'volume', source: null, target: parts[0]!, readOnly: false });
      continue;
    }
    const [source, target, mode = 'rw'] = parts as [string, string, string?];
    const named = !source.startsWith('/') && namedVolumes.has(source);
    out.push({ type: named ? 'volume' : 'bind', source, target, readOnly: mode.split(',').includes('ro') });
  }
  return sortMounts(out);
}

function peerHealthcheck(check: unknown): NormalHealthcheck | null {
  if (!isRecord(check)) return null;
  const test = check.test === undefined ? undefined : typeof check.test === 'string' ? ['CMD-SHELL', unescape(check.test)] : (check.test as unknown[]).map(unescape);
  if (check.disable === true || test?.[0] === 'NONE') return { disabled: true };
  // Docker's defaults, as the engine applies them to what Compose leaves out.
  return {
    disabled: false,
    ...(test ? { test } : {}),
    intervalMs: check.interval === undefined ? 30_000 : composeDurationMs(check.interval),
    timeoutMs: check.timeout === undefined ? 30_000 : composeDurationMs(check.timeout),
    retries: check.retries === undefined ? 3 : Number(check.retries),
    startPeriodMs: check.start_period === undefined ? 0 : composeDurationMs(check.start_period),
  };
}

function stringRecord(value: unknown, { dropNull }: { dropNull: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [key, item] of Object.entries(value)) {
    if (item === null || item === undefined) {
      if (!dropNull) out[key] = '';
      continue;
    }
    out[key] = unescape(item);
  }
  return sorted(out);
}

/** The parsed output of `docker-compose config` → the normal form. */
export async function normaliseCompose(config: Raw): Promise<NormalProject> {
  const volumesIn = isRecord(config.volumes) ? config.volumes : {};
  const networksIn = isRecord(config.networks) ? config.networks : {};
  const namedVolumes = new Set(Object.keys(volumesIn));
  const services: Record<string, NormalService> = {};
  const commandStrings: string[] = [];
  const pending: Array<{ name: string; field: 'command' | 'entrypoint'; index: number }> = [];
  for (const [name, rawService] of Object.entries(isRecord(config.services) ? config.services : {})) {
    const service = rawService as Raw;
    const command = (field: 'command' | 'entrypoint'): string[] | null => {
      const value = service[field];
      if (value === undefined || value === null) return null;
      if (Array.isArray(value)) return value.map(unescape);
      pending.push({ name, field, index: commandStrings.length });
      commandStrings.push(unescape(value));
      return [];
    };
    const build = typeof service.build === 'string' ? { context: service.build } : isRecord(service.build) ? service.build : undefined;
    const networks = service.networks === undefined ? { default: null } : Array.isArray(service.networks) ? Object.fromEntries(service.networks.map((network) => [network, null])) : (service.networks as Raw);
    const dependsOn = Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((name) => [name, { condition: 'service_started' }])) : ((service.depends_on ?? {}) as Raw);
    services[name] = {
      image: service.image === undefined ? null : unescape(service.image),
      build: build
        ? { context: String(build.context), dockerfile: build.dockerfile === undefined ? 'Dockerfile' : String(build.dockerfile), args: stringRecord(build.args, { dropNull: false }), target: build.target === undefined ? null : String(build.target) }
        : null,
      command: command('command'),
      entrypoint: command('entrypoint'),
      environment: stringRecord(service.environment, { dropNull: true }),
      ports: peerPorts(service.ports),
      expose: (Array.isArray(service.expose) ? service.expose : []).map((port) => String(port).replace(/\/tcp$/, '')).sort(),
      mounts: peerMounts(service.volumes, namedVolumes),
      dependsOn: Object.fromEntries(Object.entries(dependsOn).map(([dependency, spec]) => [dependency, String((spec as Raw | null)?.condition ?? 'service_started')]).sort(([a], [b]) => a!.localeCompare(b!))),
      healthcheck: peerHealthcheck(service.healthcheck),
      networks: Object.fromEntries(
        Object.entries(networks)
          .map(([network, attach]) => [network, (isRecord(attach) && Array.isArray(attach.aliases) ? attach.aliases.map(String) : []).sort()] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      ),
      labels: stringRecord(service.labels, { dropNull: false }),
      restart: service.restart === undefined ? 'no' : String(service.restart),
      workingDir: service.working_dir === undefined ? null : String(service.working_dir),
      user: service.user === undefined ? null : String(service.user),
      stopSignal: service.stop_signal === undefined ? null : String(service.stop_signal),
      stopGracePeriodMs: service.stop_grace_period === undefined ? null : composeDurationMs(service.stop_grace_period),
      profiles: (Array.isArray(service.profiles) ? service.profiles.map(String) : []).sort(),
    };
  }
  const split = await shlexSplit(commandStrings);
  for (const { name, field, index } of pending) services[name]![field] = split[index]!;

  const volumes: Record<string, NormalVolume> = {};
  for (const [key, volume] of Object.entries(volumesIn)) {
    const spec = isRecord(volume) ? volume : {};
    volumes[key] = { external: spec.external === true || isRecord(spec.external), driver: spec.driver === undefined ? 'local' : String(spec.driver), labels: stringRecord(spec.labels, { dropNull: false }) };
  }
  const networks: Record<string, NormalNetwork> = {};
  for (const [key, network] of Object.entries(networksIn)) {
    const spec = isRecord(network) ? network : {};
    networks[key] = {
      external: spec.external === true || isRecord(spec.external),
      driver: spec.driver === undefined ? 'bridge' : String(spec.driver),
      internal: spec.internal === true,
      labels: stringRecord(spec.labels, { dropNull: false }),
    };
  }
  const usesDefault = Object.values(services).some((service) => 'default' in service.networks);
  if (usesDefault && !networks.default) networks.default = { external: false, driver: 'bridge', internal: false, labels: {} };
  return { services: sortKeys(services), volumes: sortKeys(volumes), networks: sortKeys(networks) };
}
