/**
 * The definition as a swarm stack: overlay networks, secrets and configs (named by content hash,
 * because swarm never changes them in place), and one ServiceSpec per service. Pure: image IDs,
 * file content hashes and object IDs are passed in.
 *
 * Names follow `docker stack deploy` (`<stack>_<name>`, stack = the environment's prefix) and
 * every object carries its `com.docker.stack.namespace` label, so `docker stack ps <stack>` works.
 */
import stringify from 'safe-stable-stringify';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { LABEL } from '../labels.js';
import { dependencyOrder } from '../plan/plan.js';
import { sha256 } from '../plan/hash.js';
import type { SwarmFileReference, SwarmServiceSpec, SwarmUpdateConfig } from './types.js';

export const STACK_LABEL = 'com.docker.stack.namespace';
const MS = 1_000_000;

/** The fields of a swarm service, in the order a plan names them. */
export const SWARM_FIELDS = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'ports',
  'mounts',
  'networks',
  'healthcheck',
  'labels',
  'working_dir',
  'user',
  'init',
  'stop_signal',
  'stop_grace_period',
  'secrets',
  'configs',
  'resources',
  'restart_policy',
  'placement',
  'endpoint_mode',
  'mode',
  'replicas',
  'update_config',
  'rollback_config',
  'deploy_labels',
] as const;
export type SwarmField = (typeof SWARM_FIELDS)[number];

/** Fields whose change leaves running tasks alone (swarm only scales or records them). */
const SERVICE_ONLY_FIELDS: ReadonlySet<SwarmField> = new Set(['mode', 'replicas', 'update_config', 'rollback_config', 'deploy_labels']);

export interface SwarmImage {
  /** What the spec names: the local image ID (`sha256:…`, so a node never pulls) or a registry reference. */
  ref: string;
  /** What people read: the tag as written or built. */
  display: string;
}

export interface SwarmInputs {
  images: Readonly<Record<string, SwarmImage>>;
  /** Content hash (hex) of each secret and config file, by `secret:<key>` / `config:<key>`. */
  fileHashes: Readonly<Record<string, string>>;
}

export interface DesiredFileObject {
  kind: 'secret' | 'config';
  key: string;
  /** `<stack>_<key>_<first 12 hex of the content hash>`. */
  name: string;
  file: string;
  labels: Record<string, string>;
}

export interface DesiredNetwork {
  key: string;
  name: string;
  external: boolean;
  internal: boolean;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
}

export interface DesiredService {
  service: string;
  name: string;
  image: SwarmImage;
  replicas: number | undefined;
  /** Hash of every field (service label), and of the fields its tasks run with (container label). */
  configHash: string;
  taskHash: string;
  fields: Record<SwarmField, string>;
  after: string[];
}

export interface DesiredStack {
  stack: string;
  networks: DesiredNetwork[];
  files: DesiredFileObject[];
  services: DesiredService[];
  warnings: string[];
}

export function stackName(model: Pick<EnvironmentModel, 'prefix'>): string {
  return model.prefix;
}

/** Labels on every object of the environment's stack. */
export function stackLabels(model: Pick<EnvironmentModel, 'project' | 'env' | 'prefix' | 'labels'>): Record<string, string> {
  return { ...model.labels, [LABEL.project]: model.project, [LABEL.env]: model.env, [LABEL.target]: 'swarm', [STACK_LABEL]: stackName(model) };
}

/** The labels that find the environment's swarm objects. */
export function stackSelector(model: Pick<EnvironmentModel, 'project' | 'env'>): Record<string, string> {
  return { [LABEL.project]: model.project, [LABEL.env]: model.env, [LABEL.target]: 'swarm' };
}

export function serviceName(model: Pick<EnvironmentModel, 'prefix'>, service: string): string {
  return `${stackName(model)}_${service}`;
}

function networkName(model: EnvironmentModel, key: string): string {
  const network = model.networks[key];
  if (network?.external) return network.name;
  // An explicit `name:` is honoured; otherwise the stack's own name (a local bridge network may hold `<prefix>_<key>`).
  return network && network.name !== `${model.prefix}_${key}` ? network.name : `${stackName(model)}_${key}`;
}

/** Swarm secret and config names are at most 64 characters. */
function fileObjectName(model: EnvironmentModel, key: string, hash: string): string {
  const suffix = `_${hash.slice(0, 12)}`;
  return `${`${stackName(model)}_${key}`.slice(0, 64 - suffix.length)}${suffix}`;
}

export function desiredStack(model: EnvironmentModel, inputs: SwarmInputs): DesiredStack {
  const labels = stackLabels(model);
  const warnings: string[] = [];
  const networks = Object.values(model.networks).map((network) => ({
    key: network.key,
    name: networkName(model, network.key),
    external: network.external,
    internal: network.internal,
    driverOpts: network.driverOpts,
    labels: { ...network.labels, ...labels, [LABEL.network]: network.key },
  }));
  const files: DesiredFileObject[] = [];
  for (const kind of ['secret', 'config'] as const) {
    const used = new Set(Object.values(model.services).flatMap((service) => (kind === 'secret' ? (service.secrets ?? []) : (service.configs ?? [])).map((grant) => grant.source)));
    for (const key of [...used].sort()) {
      const object = (kind === 'secret' ? model.secrets : model.configs)?.[key];
      const hash = inputs.fileHashes[`${kind}:${key}`];
      if (!object || !hash) throw new Error(`bug: no ${kind} ${key} or no content hash for it`);
      files.push({ kind, key, name: fileObjectName(model, key, hash), file: object.file, labels: { ...object.labels, ...labels, [kind === 'secret' ? LABEL.secret : LABEL.config]: key } });
    }
  }
  const services = dependencyOrder(model).map((name) => {
    const service = model.services[name]!;
    const image = inputs.images[name];
    if (!image) throw new Error(`bug: no image for service ${name}`);
    const canonical = canonicalSwarmFields(model, service, image, files);
    const fields = {} as Record<SwarmField, string>;
    for (const field of SWARM_FIELDS) fields[field] = sha256(stringify(canonical[field]) ?? 'null').slice(0, 16);
    const configHash = sha256(SWARM_FIELDS.map((field) => `${field}=${fields[field]}`).join('\n'));
    const taskHash = sha256(SWARM_FIELDS.filter((field) => !SERVICE_ONLY_FIELDS.has(field)).map((field) => `${field}=${fields[field]}`).join('\n')).slice(0, 32);
    const published = service.ports.filter((port) => port.published !== undefined && port.hostIp !== '0.0.0.0' && port.hostIp !== '::');
    if (published.length > 0) {
      warnings.push(`service "${name}": swarm cannot bind a host address: port(s) ${published.map((port) => `${port.hostIp}:${port.published}`).join(', ')} are published on every interface (${published.some((port) => (port.mode ?? 'ingress') === 'ingress') ? 'of every node, routing mesh' : 'of the node running the task'})`);
    }
    return {
      service: name,
      name: serviceName(model, name),
      image,
      replicas: service.deploy?.mode === 'global' ? undefined : (service.deploy?.replicas ?? 1),
      configHash,
      taskHash,
      fields,
      after: Object.keys(service.dependsOn).filter((dependency) => dependency in model.services),
    };
  });
  return { stack: stackName(model), networks, files, services, warnings };
}

/** The canonical value of each field: the hash input (never stored; secret values never enter it, only their content hashes). */
function canonicalSwarmFields(model: EnvironmentModel, service: ServiceModel, image: SwarmImage, files: readonly DesiredFileObject[]): Record<SwarmField, unknown> {
  const deploy = service.deploy;
  const fileName = (kind: 'secret' | 'config', key: string) => files.find((file) => file.kind === kind && file.key === key)?.name ?? key;
  const sorted = <T>(items: readonly T[], key: (item: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));
  return {
    image: image.ref,
    command: service.command ?? null,
    entrypoint: service.entrypoint ?? null,
    environment: service.environment,
    ports: sorted(service.ports.filter((port) => port.published !== undefined || port.mode === 'host').map((port) => ({ target: port.target, published: port.published ?? null, protocol: port.protocol, mode: port.mode ?? 'ingress' })), (port) => `${port.protocol}/${port.target}/${port.published}`),
    mounts: sorted(service.mounts.map((mount) => ({ ...mount, source: mount.type === 'volume' && mount.source ? (model.volumes[mount.source]?.name ?? mount.source) : (mount.source ?? null) })), (mount) => mount.target),
    networks: Object.fromEntries(Object.entries(service.networks).map(([key, attach]) => [networkName(model, key), [...attach.aliases].sort()])),
    healthcheck: service.healthcheck ?? null,
    labels: service.labels,
    working_dir: service.workingDir ?? null,
    user: service.user ?? null,
    init: service.init,
    stop_signal: service.stopSignal ?? null,
    stop_grace_period: service.stopGracePeriodMs ?? null,
    secrets: sorted((service.secrets ?? []).map((grant) => ({ ...grant, name: fileName('secret', grant.source) })), (grant) => grant.target),
    configs: sorted((service.configs ?? []).map((grant) => ({ ...grant, name: fileName('config', grant.source) })), (grant) => grant.target),
    resources: deploy?.resources ?? null,
    restart_policy: deploy?.restartPolicy ?? null,
    placement: deploy?.placement ?? null,
    endpoint_mode: deploy?.endpointMode ?? null,
    mode: deploy?.mode ?? 'replicated',
    replicas: deploy?.mode === 'global' ? null : (deploy?.replicas ?? 1),
    update_config: deploy?.updateConfig ?? null,
    rollback_config: deploy?.rollbackConfig ?? null,
    deploy_labels: deploy?.labels ?? {},
  };
}

/** `image=…,environment=…` as stored in the service's field-hashes label. */
export function formatSwarmFieldHashes(fields: Record<SwarmField, string>): string {
  return SWARM_FIELDS.map((field) => `${field}=${fields[field]}`).join(',');
}

/**
 * The ServiceSpec for one service. `ids` maps secret and config names to their engine IDs (the API
 * needs both); planning passes none.
 */
export function serviceSpecFor(model: EnvironmentModel, desired: DesiredStack, service: DesiredService, ids: ReadonlyMap<string, string> = new Map()): SwarmServiceSpec {
  const definition = model.services[service.service]!;
  const deploy = definition.deploy;
  const labels = stackLabels(model);
  const reference = (kind: 'secret' | 'config') => (grant: NonNullable<ServiceModel['secrets']>[number]): SwarmFileReference => {
    const object = desired.files.find((file) => file.kind === kind && file.key === grant.source)!;
    const file = { Name: grant.target, UID: grant.uid ?? '0', GID: grant.gid ?? '0', Mode: grant.mode ?? 0o444 };
    const id = ids.get(object.name) ?? '';
    return kind === 'secret' ? { File: file, SecretID: id, SecretName: object.name } : { File: file, ConfigID: id, ConfigName: object.name };
  };
  const healthcheck = definition.healthcheck;
  const restart = deploy?.restartPolicy;
  return {
    Name: service.name,
    Labels: {
      ...deploy?.labels,
      ...labels,
      [LABEL.service]: service.service,
      [LABEL.configHash]: service.configHash,
      [LABEL.fieldHashes]: formatSwarmFieldHashes(service.fields),
      [LABEL.image]: service.image.display,
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: service.image.ref,
        // Task containers do not carry the environment labels: the local target must not take them for its own.
        Labels: { ...definition.labels, [STACK_LABEL]: desired.stack, [LABEL.configHash]: service.taskHash },
        ...(definition.entrypoint ? { Command: definition.entrypoint } : {}),
        ...(definition.command ? { Args: definition.command } : {}),
        Env: Object.entries(definition.environment).map(([key, value]) => `${key}=${value}`),
        ...(definition.workingDir ? { Dir: definition.workingDir } : {}),
        ...(definition.user ? { User: definition.user } : {}),
        Init: definition.init,
        ...(definition.stopSignal ? { StopSignal: definition.stopSignal } : {}),
        ...(definition.stopGracePeriodMs !== undefined ? { StopGracePeriod: definition.stopGracePeriodMs * MS } : {}),
        ...(healthcheck
          ? {
              Healthcheck: healthcheck.disabled
                ? { Test: ['NONE'] }
                : { Test: healthcheck.test, Interval: healthcheck.intervalMs * MS, Timeout: healthcheck.timeoutMs * MS, Retries: healthcheck.retries, StartPeriod: healthcheck.startPeriodMs * MS },
            }
          : {}),
        Mounts: definition.mounts.map((mount) => {
          const volume = mount.type === 'volume' && mount.source ? model.volumes[mount.source] : undefined;
          return {
            Type: mount.type,
            ...(mount.source ? { Source: volume ? volume.name : mount.source } : {}),
            Target: mount.target,
            ReadOnly: mount.readOnly,
            ...(mount.type === 'volume' && volume && !volume.external
              ? { VolumeOptions: { Labels: { ...volume.labels, ...labels, [LABEL.volume]: volume.key }, ...(volume.driver !== 'local' || Object.keys(volume.driverOpts).length > 0 ? { DriverConfig: { Name: volume.driver, Options: volume.driverOpts } } : {}) } }
              : {}),
            ...(mount.type === 'tmpfs' && mount.tmpfsSize !== undefined ? { TmpfsOptions: { SizeBytes: mount.tmpfsSize } } : {}),
          };
        }),
        Secrets: (definition.secrets ?? []).map(reference('secret')),
        Configs: (definition.configs ?? []).map(reference('config')),
      },
      Resources: {
        Limits: dropUndefined({ NanoCPUs: deploy?.resources.limits.nanoCpus, MemoryBytes: deploy?.resources.limits.memoryBytes, Pids: deploy?.resources.limits.pids }),
        Reservations: dropUndefined({ NanoCPUs: deploy?.resources.reservations.nanoCpus, MemoryBytes: deploy?.resources.reservations.memoryBytes }),
      },
      RestartPolicy: restart
        ? { Condition: restart.condition, ...dropUndefined({ Delay: restart.delayMs === undefined ? undefined : restart.delayMs * MS, MaxAttempts: restart.maxAttempts, Window: restart.windowMs === undefined ? undefined : restart.windowMs * MS }) }
        : { Condition: restartCondition(definition.restart) },
      Placement: {
        Constraints: deploy?.placement.constraints ?? [],
        Preferences: (deploy?.placement.preferences ?? []).map((spread) => ({ Spread: { SpreadDescriptor: spread } })),
        ...(deploy?.placement.maxReplicasPerNode !== undefined ? { MaxReplicas: deploy.placement.maxReplicasPerNode } : {}),
      },
      Networks: Object.entries(definition.networks).map(([key, attach]) => ({ Target: networkName(model, key), Aliases: [...new Set([service.service, ...attach.aliases])] })),
      ForceUpdate: 0,
    },
    Mode: service.replicas === undefined ? { Global: {} } : { Replicated: { Replicas: service.replicas } },
    ...(deploy?.updateConfig ? { UpdateConfig: updateConfig(deploy.updateConfig) } : {}),
    ...(deploy?.rollbackConfig ? { RollbackConfig: updateConfig(deploy.rollbackConfig) } : {}),
    EndpointSpec: {
      Mode: deploy?.endpointMode ?? 'vip',
      Ports: definition.ports
        .filter((port) => port.published !== undefined || port.mode === 'host')
        .map((port) => ({ Protocol: port.protocol, TargetPort: port.target, ...(port.published !== undefined ? { PublishedPort: port.published } : {}), PublishMode: port.mode ?? 'ingress' })),
    },
  };
}

function updateConfig(config: NonNullable<NonNullable<ServiceModel['deploy']>['updateConfig']>): SwarmUpdateConfig {
  return { Parallelism: config.parallelism, Delay: config.delayMs * MS, FailureAction: config.failureAction, Monitor: config.monitorMs * MS, MaxFailureRatio: config.maxFailureRatio, Order: config.order };
}

/**
 * `restart:` as a swarm restart condition when `deploy.restart_policy` is not written. `no` is also
 * envctl's default when nothing is written, and a swarm service is meant to keep running: it keeps
 * swarm's default `any` (write `deploy.restart_policy.condition: none` to let tasks stay down).
 */
function restartCondition(restart: string): string {
  return restart.startsWith('on-failure') ? 'on-failure' : 'any';
}

function dropUndefined<T extends Record<string, number | undefined>>(object: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: number };
}

/** Which stored fields differ from the desired ones (all, when none were recorded). */
export function changedSwarmFields(recorded: Partial<Record<string, string>>, desired: Record<SwarmField, string>): SwarmField[] {
  return SWARM_FIELDS.filter((field) => recorded[field] !== desired[field]);
}
