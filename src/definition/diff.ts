/**
 * `envctl diff A B`: what differs between two environments of one definition, field by field.
 * `diffEnvironments` and `renderDiffText` are pure (two resolved models in, a structured diff out;
 * its text form is what the unit tests assert on); `diffDefinitionEnvironments` loads the two.
 * Values of variables whose name looks secret are masked, so the output can be pasted anywhere.
 */
import { relative } from 'node:path';
import { UsageError } from '../errors.js';
import { didYouMean } from './diagnostics.js';
import { DEFAULT_ENV, type EnvironmentModel, type Healthcheck, type NetworkModel, type ServiceModel, type VolumeModel } from './model.js';
import { loadDefinition, type LoadOptions } from './resolve.js';
import type { Mount, PortBinding } from './values.js';

/** Variable (and build argument) names whose values are never shown. */
export const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL)/i;
export const MASK = '***';

/** The service fields compared, in the order the diff lists them. */
export const DIFF_FIELDS = [
  'image',
  'build_args',
  'command',
  'entrypoint',
  'environment',
  'ports',
  'expose',
  'mounts',
  'networks',
  'depends_on',
  'healthcheck',
  'restart',
  'user',
  'working_dir',
  'init',
  'labels',
  'stop_signal',
  'stop_grace_period',
] as const;
export type DiffField = (typeof DIFF_FIELDS)[number];

/**
 * One difference. Keyed fields (environment, build args, labels) name the `key`; list fields
 * (ports, mounts, networks, expose, depends_on) give one change per entry present on one side only;
 * scalar fields give both values. `null` means absent on that side.
 */
export interface FieldChange {
  field: DiffField;
  key?: string;
  a: string | null;
  b: string | null;
  /** The values are hidden because the name looks secret (they still differ). */
  masked?: boolean;
}

export interface ServiceDiff {
  service: string;
  changes: FieldChange[];
}

export interface ValueChange {
  name: string;
  a: string | null;
  b: string | null;
}

export interface EnvironmentDiff {
  project: string;
  a: string;
  b: string;
  same: boolean;
  /** Services active in only one of the two environments. */
  onlyIn: { a: string[]; b: string[] };
  /** Services in both that differ (services that are equal are left out). */
  services: ServiceDiff[];
  /** `features:` toggles (each also reaches services as a FEATURE_* variable). */
  features: ValueChange[];
  /** Volumes and networks by definition key: only in one, or configured differently. */
  volumes: ValueChange[];
  networks: ValueChange[];
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Compares environment `a` with environment `b` (both resolved from the same definition). */
export function diffEnvironments(a: EnvironmentModel, b: EnvironmentModel): EnvironmentDiff {
  const namesA = Object.keys(a.services);
  const namesB = Object.keys(b.services);
  const services: ServiceDiff[] = [];
  for (const name of namesA) {
    const other = b.services[name];
    if (!other) continue;
    const changes = diffService(a.services[name]!, other, a.projectDir);
    if (changes.length > 0) services.push({ service: name, changes });
  }
  const onlyIn = { a: namesA.filter((name) => !(name in b.services)), b: namesB.filter((name) => !(name in a.services)) };
  const features = diffRecords(stringRecord(a.features), stringRecord(b.features)).map(({ key, a: left, b: right }) => ({ name: key, a: left, b: right }));
  const volumes = diffResources(a.volumes, b.volumes, describeVolume);
  const networks = diffResources(a.networks, b.networks, describeNetwork);
  const same = [onlyIn.a, onlyIn.b, services, features, volumes, networks].every((items) => items.length === 0);
  return { project: a.project, a: a.env, b: b.env, same, onlyIn, services, features, volumes, networks };
}

function diffService(a: ServiceModel, b: ServiceModel, projectDir: string): FieldChange[] {
  const changes: FieldChange[] = [];
  const scalar = (field: DiffField, left: string | null, right: string | null) => {
    if (left !== right) changes.push({ field, a: left, b: right });
  };
  const keyed = (field: DiffField, left: Record<string, string>, right: Record<string, string>, mask: boolean) => {
    for (const change of diffRecords(left, right)) {
      const secret = mask && isSecretName(change.key);
      changes.push({ field, key: change.key, a: secret && change.a !== null ? MASK : change.a, b: secret && change.b !== null ? MASK : change.b, ...(secret ? { masked: true } : {}) });
    }
  };
  const list = (field: DiffField, left: readonly string[], right: readonly string[]) => {
    for (const item of left) if (!right.includes(item)) changes.push({ field, a: item, b: null });
    for (const item of right) if (!left.includes(item)) changes.push({ field, a: null, b: item });
  };

  scalar('image', describeImage(a, projectDir), describeImage(b, projectDir));
  keyed('build_args', a.build?.args ?? {}, b.build?.args ?? {}, true);
  scalar('command', describeWords(a.command), describeWords(b.command));
  scalar('entrypoint', describeWords(a.entrypoint), describeWords(b.entrypoint));
  keyed('environment', a.environment, b.environment, true);
  list('ports', a.ports.map(describePort), b.ports.map(describePort));
  list('expose', a.expose, b.expose);
  list('mounts', a.mounts.map((mount) => describeMount(mount, projectDir)), b.mounts.map((mount) => describeMount(mount, projectDir)));
  list('networks', describeNetworks(a), describeNetworks(b));
  list('depends_on', describeDependencies(a), describeDependencies(b));
  scalar('healthcheck', describeHealthcheck(a.healthcheck), describeHealthcheck(b.healthcheck));
  scalar('restart', a.restart, b.restart);
  scalar('user', a.user ?? null, b.user ?? null);
  scalar('working_dir', a.workingDir ?? null, b.workingDir ?? null);
  scalar('init', String(a.init), String(b.init));
  keyed('labels', a.labels, b.labels, false);
  scalar('stop_signal', a.stopSignal ?? null, b.stopSignal ?? null);
  scalar('stop_grace_period', a.stopGracePeriodMs === undefined ? null : formatMs(a.stopGracePeriodMs), b.stopGracePeriodMs === undefined ? null : formatMs(b.stopGracePeriodMs));
  return changes;
}

/** Keys in either record whose values differ, in `a`'s order then `b`'s new keys. */
function diffRecords(a: Record<string, string>, b: Record<string, string>): Array<{ key: string; a: string | null; b: string | null }> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys
    .map((key) => ({ key, a: Object.hasOwn(a, key) ? a[key]! : null, b: Object.hasOwn(b, key) ? b[key]! : null }))
    .filter((change) => change.a !== change.b);
}

function diffResources<T extends { external: boolean }>(a: Record<string, T>, b: Record<string, T>, describe: (resource: T) => string): ValueChange[] {
  const left = Object.fromEntries(Object.entries(a).map(([key, resource]) => [key, describe(resource)]));
  const right = Object.fromEntries(Object.entries(b).map(([key, resource]) => [key, describe(resource)]));
  return diffRecords(left, right).map(({ key, a: l, b: r }) => ({ name: key, a: l, b: r }));
}

function stringRecord(record: Record<string, boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, String(value)]));
}

/** The image as written, or where it is built from (its args are compared on their own, masked). */
export function describeImage(service: ServiceModel, projectDir: string): string {
  if (!service.build) return service.image ?? '(none)';
  const extras = [service.build.dockerfile !== 'Dockerfile' ? `dockerfile ${service.build.dockerfile}` : '', service.build.target ? `target ${service.build.target}` : ''].filter(Boolean);
  return `built from ${displayHostPath(service.build.context, projectDir)}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
}

function describeWords(words: string[] | undefined): string | null {
  return words === undefined ? null : JSON.stringify(words);
}

function describePort(port: PortBinding): string {
  const host = port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp;
  return `${host}:${port.published ?? ''}:${port.target}/${port.protocol}`;
}

function describeMount(mount: Mount, projectDir: string): string {
  const source = mount.type === 'bind' && mount.source ? displayHostPath(mount.source, projectDir) : (mount.source ?? '');
  const kind = mount.type === 'tmpfs' ? `tmpfs${mount.tmpfsSize !== undefined ? ` (${mount.tmpfsSize} bytes)` : ''}` : mount.type;
  return `${source ? `${source}:` : ''}${mount.target}${mount.readOnly ? ':ro' : ''} (${kind})`;
}

function displayHostPath(path: string, projectDir: string): string {
  const rel = relative(projectDir, path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : `./${rel}`;
}

function describeNetworks(service: ServiceModel): string[] {
  return Object.entries(service.networks).map(([key, attach]) => (attach.aliases.length > 0 ? `${key} (aliases ${[...attach.aliases].sort().join(', ')})` : key));
}

function describeDependencies(service: ServiceModel): string[] {
  return Object.entries(service.dependsOn).map(([name, dependency]) => `${name} (${dependency.condition}${dependency.required ? '' : ', optional'})`);
}

export function describeHealthcheck(healthcheck: Healthcheck | undefined): string | null {
  if (!healthcheck) return null;
  if (healthcheck.disabled) return 'disabled';
  const parts = [JSON.stringify(healthcheck.test), `interval ${formatMs(healthcheck.intervalMs)}`, `timeout ${formatMs(healthcheck.timeoutMs)}`, `retries ${healthcheck.retries}`];
  if (healthcheck.startPeriodMs > 0) parts.push(`start_period ${formatMs(healthcheck.startPeriodMs)}`);
  return parts.join(', ');
}

function describeVolume(volume: VolumeModel): string {
  return volume.external ? `external ${volume.name}` : describeDriver(volume.driver, volume.driverOpts, volume.labels);
}

function describeNetwork(network: NetworkModel): string {
  if (network.external) return `external ${network.name}`;
  return [describeDriver(network.driver, network.driverOpts, network.labels), network.internal ? 'internal' : '', network.attachable ? 'attachable' : ''].filter(Boolean).join(', ');
}

function describeDriver(driver: string, options: Record<string, string>, labels: Record<string, string>): string {
  const pairs = (record: Record<string, string>) => Object.entries(record).map(([key, value]) => `${key}=${value}`).join(' ');
  return [`driver ${driver}`, Object.keys(options).length > 0 ? `options ${pairs(options)}` : '', Object.keys(labels).length > 0 ? `labels ${pairs(labels)}` : ''].filter(Boolean).join(', ');
}

/** Milliseconds the way a definition writes them: 1m30s, 2s, 500ms. */
function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** The diff as `envctl diff` prints it; also the oracle of the unit tests. */
export function renderDiffText(diff: EnvironmentDiff): string {
  const lines = [`diff for ${diff.project}: ${diff.a} → ${diff.b}`];
  if (diff.same) {
    lines.push('  no differences');
    return `${lines.join('\n')}\n`;
  }
  for (const service of diff.services) {
    lines.push(`  ${service.service}`);
    const width = Math.max(...service.changes.map((change) => change.field.length));
    for (const change of service.changes) lines.push(`    ${change.field.padEnd(width)}  ${renderChange(change)}`);
  }
  for (const name of diff.onlyIn.a) lines.push(`  ${name}  only in ${diff.a}`);
  for (const name of diff.onlyIn.b) lines.push(`  ${name}  only in ${diff.b}`);
  for (const [title, changes] of [['features', diff.features], ['volumes', diff.volumes], ['networks', diff.networks]] as const) {
    if (changes.length === 0) continue;
    lines.push(`  ${title}`);
    for (const change of changes) lines.push(`    ${renderValueChange(change.name, change.a, change.b)}`);
  }
  const parts = [
    diff.services.length > 0 ? `${diff.services.length} service(s) differ` : '',
    diff.onlyIn.a.length > 0 ? `${diff.onlyIn.a.length} only in ${diff.a}` : '',
    diff.onlyIn.b.length > 0 ? `${diff.onlyIn.b.length} only in ${diff.b}` : '',
    diff.features.length > 0 ? `${diff.features.length} feature(s) differ` : '',
    diff.volumes.length > 0 ? `${diff.volumes.length} volume(s) differ` : '',
    diff.networks.length > 0 ? `${diff.networks.length} network(s) differ` : '',
  ].filter(Boolean);
  lines.push(`summary: ${parts.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function renderChange(change: FieldChange): string {
  if (change.key !== undefined) return `${renderValueChange(change.key, change.a, change.b)}${change.masked && change.a !== null && change.b !== null ? ' (values hidden, they differ)' : ''}`;
  if (change.a !== null && change.b !== null) return `~ ${change.a} → ${change.b}`;
  if (change.a !== null) return `- ${change.a}`;
  return `+ ${change.b}`;
}

function renderValueChange(name: string, a: string | null, b: string | null): string {
  if (a !== null && b !== null) return `~ ${name}: ${a} → ${b}`;
  if (a !== null) return `- ${name}: ${a}`;
  return `+ ${name}: ${b}`;
}

/**
 * Loads environments `a` and `b` of one definition (`default` is the base) and compares them.
 * An environment the definition does not declare is bad input (exit 2), listing those it has.
 */
export async function diffDefinitionEnvironments(load: Omit<LoadOptions, 'env'>, a: string, b: string): Promise<EnvironmentDiff> {
  const base = await loadDefinition(load);
  const known = [DEFAULT_ENV, ...base.environments.filter((name) => name !== DEFAULT_ENV)];
  for (const name of [a, b]) {
    if (known.includes(name)) continue;
    const suggestion = didYouMean(name, known);
    throw new UsageError('UNKNOWN_ENVIRONMENT', `the definition has no environment "${name}"`, `environments: ${known.join(', ')}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
  }
  const modelOf = (name: string) => (name === DEFAULT_ENV ? Promise.resolve(base) : loadDefinition({ ...load, env: name }));
  return diffEnvironments(await modelOf(a), await modelOf(b));
}
