/**
 * The config hash: a canonical digest of what a container is created from. Key order, comments,
 * formatting, list order of ports/mounts/aliases and `depends_on` do not change it; anything the
 * container runs with does. Each field is also hashed on its own so a plan can say *which* field
 * changed without storing values (secrets stay out of labels).
 */
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { containerResources, fileGrantMounts } from '../definition/deploy.js';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';

/** The fields that define a container, in the order a plan names them. */
export const HASHED_FIELDS = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'ports',
  'expose',
  'mounts',
  'networks',
  'healthcheck',
  'labels',
  'working_dir',
  'user',
  'init',
  'restart',
  'stop_signal',
  'stop_grace_period',
  'resources',
] as const;
export type HashedField = (typeof HASHED_FIELDS)[number];

/**
 * Fields added after containers were labelled: while unset they stay out of the config hash and
 * the field-hash label, so adding the field to envctl recreates nothing.
 */
const OPTIONAL_FIELDS: ReadonlySet<HashedField> = new Set(['resources']);
const fieldHash = (value: unknown) => sha256(stringify(value) ?? 'null').slice(0, 16);
const UNSET_HASH = fieldHash(null);
const isUnsetOptional = (field: HashedField, hash: string) => OPTIONAL_FIELDS.has(field) && hash === UNSET_HASH;

export interface ServiceHash {
  configHash: string;
  fields: Record<HashedField, string>;
}

const sortBy = <T>(items: readonly T[], key: (item: T) => string): T[] => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** The canonical value of each hashed field. `image` is the reference the container is created from. */
export function canonicalFields(service: ServiceModel, image: string, model: Pick<EnvironmentModel, 'volumes' | 'networks' | 'secrets' | 'configs'>): Record<HashedField, unknown> {
  return {
    image,
    command: service.command ?? null,
    entrypoint: service.entrypoint ?? null,
    environment: service.environment,
    ports: sortBy(service.ports, (port) => `${port.protocol}/${port.target}/${port.hostIp}/${port.published ?? ''}`),
    expose: [...service.expose].sort(),
    mounts: sortBy(
      [...service.mounts.map((mount) => ({ ...mount, source: mountSource(mount, model) ?? null })), ...fileGrantMounts(service, model)],
      (mount) => mount.target,
    ),
    networks: Object.fromEntries(
      Object.entries(service.networks).map(([key, attach]) => [model.networks[key]?.name ?? key, { aliases: [...attach.aliases].sort() }]),
    ),
    healthcheck: service.healthcheck ?? null,
    labels: service.labels,
    working_dir: service.workingDir ?? null,
    user: service.user ?? null,
    init: service.init,
    restart: service.restart,
    stop_signal: service.stopSignal ?? null,
    stop_grace_period: service.stopGracePeriodMs ?? null,
    resources: containerResources(service) ?? null,
  };
}

/** A mount's source as the engine sees it: named volumes by their engine name, binds by path. */
export function mountSource(mount: ServiceModel['mounts'][number], model: Pick<EnvironmentModel, 'volumes'>): string | undefined {
  return mount.type === 'volume' && mount.source ? (model.volumes[mount.source]?.name ?? mount.source) : mount.source;
}

export function hashService(service: ServiceModel, image: string, model: Pick<EnvironmentModel, 'volumes' | 'networks' | 'secrets' | 'configs'>): ServiceHash {
  const canonical = canonicalFields(service, image, model);
  const fields = {} as Record<HashedField, string>;
  for (const field of HASHED_FIELDS) fields[field] = fieldHash(canonical[field]);
  const configHash = sha256(HASHED_FIELDS.filter((field) => !isUnsetOptional(field, fields[field])).map((field) => `${field}=${fields[field]}`).join('\n'));
  return { configHash, fields };
}

/** Field hashes as stored in the `dev.envctl.field-hashes` label: `image=…,command=…`. */
export function formatFieldHashes(fields: Record<HashedField, string>): string {
  return HASHED_FIELDS.filter((field) => !isUnsetOptional(field, fields[field])).map((field) => `${field}=${fields[field]}`).join(',');
}

export function parseFieldHashes(label: string | undefined): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  for (const entry of (label ?? '').split(',')) {
    const index = entry.indexOf('=');
    if (index > 0) out[entry.slice(0, index)] = entry.slice(index + 1);
  }
  return out;
}

/** Which fields differ between a container's recorded hashes and the desired ones (all, if none were recorded). */
export function changedFields(recorded: Partial<Record<string, string>>, desired: Record<HashedField, string>): HashedField[] {
  return HASHED_FIELDS.filter((field) => (recorded[field] ?? (OPTIONAL_FIELDS.has(field) ? UNSET_HASH : undefined)) !== desired[field]);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The configuration of a network or volume as created (a changed one is reported, never silently kept). */
export function resourceConfigHash(resource: { driver: string; driverOpts: Record<string, string>; labels: Record<string, string>; internal?: boolean; attachable?: boolean }): string {
  const canonical = { driver: resource.driver, driverOpts: resource.driverOpts, labels: resource.labels, internal: resource.internal ?? null, attachable: resource.attachable ?? null };
  return sha256(stringify(canonical) ?? 'null').slice(0, 16);
}
