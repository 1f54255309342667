/**
 * The resolved model of one environment → a Compose file. Pure except `exportCompose`, which loads
 * the definition and writes the file. What envctl resolved (overlays, `${VAR}`, profiles, env_file,
 * feature toggles) is written out literally, so Compose and envctl read the same values back.
 */
import { resolve as resolvePath } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { Document, isScalar, visit } from 'yaml';
import type { DeployConfig } from './deploy-schema.js';
import { UsageError, type Diagnostic } from '../errors.js';
import type { EnvironmentModel, FileGrant, Healthcheck, NetworkModel, ServiceModel, VolumeModel } from './model.js';
import { loadDefinition, type LoadOptions } from './resolve.js';
import { ALLOW_PATHS_KEY } from './path-scope.js';
import type { PortBinding } from './values.js';
import { exists } from '../fs-util.js';

/** Labels envctl sets itself on what it creates (src/labels.ts); not the service's own. */
const ENVCTL_LABEL_PREFIX = 'dev.envctl.';
/** Docker's default for `start_interval` (the model makes it explicit); omitted when unchanged. */
const DEFAULT_START_INTERVAL_MS = 5_000;

export interface ExportComposeOptions {
  load: LoadOptions;
  /** `-o FILE`, relative to `load.cwd`; undefined means the text is returned for stdout. */
  output?: string | undefined;
  /** Replace an existing output file. */
  force?: boolean | undefined;
}

export interface ExportComposeResult {
  definition: string;
  env: string;
  project: string;
  services: string[];
  /** Absolute path written, or undefined when the text goes to stdout. */
  output: string | undefined;
  compose: string;
  warnings: Diagnostic[];
}

/** Loads the environment, renders it and writes it to `output` (never over an existing file without `force`). */
export async function exportCompose(options: ExportComposeOptions): Promise<ExportComposeResult> {
  const model = await loadDefinition(options.load);
  const compose = renderComposeFile(model);
  const output = options.output === undefined ? undefined : resolvePath(options.load.cwd, options.output);
  if (output !== undefined) {
    if (!options.force && (await exists(output))) {
      throw new UsageError('OUTPUT_EXISTS', `${options.output} already exists`, 'pass --force to replace it, or choose another -o path');
    }
    await writeFileAtomic(output, compose);
  }
  return { definition: model.file, env: model.env, project: model.project, services: Object.keys(model.services), output, compose, warnings: model.warnings };
}

/** The Compose file as text: a header comment, then the document in YAML 1.1-safe quoting (Compose v1 reads YAML 1.1). */
export function renderComposeFile(model: EnvironmentModel): string {
  const document = new Document(escapeDollars(toComposeObject(model)), { version: '1.1' });
  // YAML 1.1 quoting covers every 1.2 non-string except `0o17` (an octal integer only in 1.2, which envctl reads).
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && /^0o[0-7]+$/.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
    // File modes of secrets and configs are octal, as Compose writes them (`0440`).
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === 'mode' && isScalar(pair.value) && typeof pair.value.value === 'number') pair.value.format = 'OCT';
    },
  });
  document.commentBefore = [
    ` Exported by envctl from ${model.file} (env ${model.env}), project ${model.project}:`,
    ` run it with \`docker-compose -p ${model.project} -f FILE …\` (volume and network names are written out in full).`,
    ' envctl-only settings (pipeline, release, features, environments) are not part of Compose and are left out;',
    ' values are resolved and written literally ($ is escaped as $$).',
    ...Object.values(model.services)
      .filter((service) => service.deploy?.resources.limits.pids !== undefined)
      .map((service) => ` left out (Compose v1 does not know it): services.${service.name}.deploy.resources.limits.pids: ${service.deploy!.resources.limits.pids}`),
  ].join('\n');
  return document.toString({ lineWidth: 0 });
}

/** The Compose document as plain data, before `$` escaping. */
export function toComposeObject(model: EnvironmentModel): Record<string, unknown> {
  // No top-level `name:`: Compose v1 (Debian 12's docker-compose) refuses it; the header names the project for `-p`.
  const out: Record<string, unknown> = {};
  out.services = Object.fromEntries(Object.values(model.services).map((service) => [service.name, composeService(service)]));
  if (Object.keys(model.volumes).length > 0) out.volumes = Object.fromEntries(Object.values(model.volumes).map((volume) => [volume.key, composeVolume(volume)]));
  if (Object.keys(model.networks).length > 0) out.networks = Object.fromEntries(Object.values(model.networks).map((network) => [network.key, composeNetwork(network)]));
  for (const kind of ['secrets', 'configs'] as const) {
    const objects = Object.values(model[kind] ?? {});
    if (objects.length > 0) out[kind] = Object.fromEntries(objects.map((object) => [object.key, { file: object.file, ...nonEmpty('labels', object.labels) }]));
  }
  // Host paths are written absolute: the folders they were confined to come along as an allowance,
  // so envctl reads its own export from anywhere (Compose ignores `x-` keys).
  const usesHostPaths = Object.values(model.services).some((service) => service.build !== undefined || service.mounts.some((mount) => mount.type === 'bind'));
  if (usesHostPaths) return { [ALLOW_PATHS_KEY]: [model.projectDir, ...(model.allowedHostPaths ?? [])], ...out };
  return out;
}

function composeService(service: ServiceModel): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (service.image !== undefined) out.image = service.image;
  if (service.build) {
    const { context, dockerfile, args, target } = service.build;
    out.build = { context, dockerfile, ...nonEmpty('args', args), ...(target !== undefined ? { target } : {}) };
  }
  if (service.command) out.command = service.command;
  if (service.entrypoint) out.entrypoint = service.entrypoint;
  Object.assign(out, nonEmpty('environment', service.environment));
  // A port with a swarm publish `mode` needs the long syntax (which has `host_ip` only in newer Compose).
  if (service.ports.length > 0) out.ports = service.ports.map((port) => (port.mode ? { target: port.target, ...(port.published !== undefined ? { published: port.published } : {}), ...(port.hostIp !== '127.0.0.1' ? { host_ip: port.hostIp } : {}), protocol: port.protocol, mode: port.mode } : composePort(port)));
  if (service.expose.length > 0) out.expose = service.expose;
  if (service.mounts.length > 0) {
    out.volumes = service.mounts.map((mount) => ({
      type: mount.type,
      ...(mount.source !== undefined ? { source: mount.source } : {}),
      target: mount.target,
      read_only: mount.readOnly,
      ...(mount.tmpfsSize !== undefined ? { tmpfs: { size: mount.tmpfsSize } } : {}),
    }));
  }
  out.networks = Object.fromEntries(Object.entries(service.networks).map(([key, { aliases }]) => [key, aliases.length > 0 ? { aliases } : {}]));
  if (Object.keys(service.dependsOn).length > 0) {
    out.depends_on = Object.fromEntries(
      Object.entries(service.dependsOn).map(([name, dependency]) => [
        name,
        // required/restart only when not Compose's defaults: older Compose versions do not know them.
        { condition: dependency.condition, ...(dependency.required ? {} : { required: false }), ...(dependency.restart ? { restart: true } : {}) },
      ]),
    );
  }
  if (service.healthcheck) out.healthcheck = composeHealthcheck(service.healthcheck);
  out.restart = service.restart;
  const labels = Object.fromEntries(Object.entries(service.labels).filter(([key]) => !key.startsWith(ENVCTL_LABEL_PREFIX)));
  Object.assign(out, nonEmpty('labels', labels));
  if (service.workingDir !== undefined) out.working_dir = service.workingDir;
  if (service.user !== undefined) out.user = service.user;
  // Always written: envctl defaults to an init process, Compose does not.
  out.init = service.init;
  if (service.stopSignal !== undefined) out.stop_signal = service.stopSignal;
  if (service.stopGracePeriodMs !== undefined) out.stop_grace_period = formatDuration(service.stopGracePeriodMs);
  if (service.deploy) out.deploy = composeDeploy(service.deploy);
  if (service.secrets?.length) out.secrets = service.secrets.map((grant) => composeGrant(grant, '/run/secrets'));
  if (service.configs?.length) out.configs = service.configs.map((grant) => composeGrant(grant, ''));
  return out;
}

/** A secret or config of a service; `target` only when it is not the default place. */
function composeGrant(grant: FileGrant, dir: string): Record<string, unknown> {
  return {
    source: grant.source,
    ...(grant.target !== `${dir}/${grant.source}` ? { target: grant.target } : {}),
    ...(grant.uid !== undefined ? { uid: grant.uid } : {}),
    ...(grant.gid !== undefined ? { gid: grant.gid } : {}),
    ...(grant.mode !== undefined ? { mode: grant.mode } : {}),
  };
}

/** `deploy:` back in Compose's terms (durations, CPUs as a decimal string, bytes). */
function composeDeploy(deploy: DeployConfig): Record<string, unknown> {
  const update = (config: NonNullable<DeployConfig['updateConfig']>) => ({
    parallelism: config.parallelism,
    delay: formatDuration(config.delayMs),
    failure_action: config.failureAction,
    monitor: formatDuration(config.monitorMs),
    max_failure_ratio: config.maxFailureRatio,
    order: config.order,
  });
  // Compose v1 wants sizes as strings and does not know `pids` (named in the header comment instead).
  const resources = (set: { nanoCpus?: number | undefined; memoryBytes?: number | undefined }) => ({
    ...(set.nanoCpus !== undefined ? { cpus: String(set.nanoCpus / 1e9) } : {}),
    ...(set.memoryBytes !== undefined ? { memory: String(set.memoryBytes) } : {}),
  });
  const limits = resources(deploy.resources.limits);
  const reservations = resources(deploy.resources.reservations);
  const restart = deploy.restartPolicy;
  const placement = {
    ...(deploy.placement.constraints.length > 0 ? { constraints: deploy.placement.constraints } : {}),
    ...(deploy.placement.preferences.length > 0 ? { preferences: deploy.placement.preferences.map((spread) => ({ spread })) } : {}),
    ...(deploy.placement.maxReplicasPerNode !== undefined ? { max_replicas_per_node: deploy.placement.maxReplicasPerNode } : {}),
  };
  return {
    ...(deploy.mode !== 'replicated' ? { mode: deploy.mode } : {}),
    ...(deploy.replicas !== undefined ? { replicas: deploy.replicas } : {}),
    ...(deploy.endpointMode !== undefined ? { endpoint_mode: deploy.endpointMode } : {}),
    ...nonEmpty('labels', deploy.labels),
    ...(deploy.updateConfig ? { update_config: update(deploy.updateConfig) } : {}),
    ...(deploy.rollbackConfig ? { rollback_config: update(deploy.rollbackConfig) } : {}),
    ...(restart
      ? {
          restart_policy: {
            condition: restart.condition,
            ...(restart.delayMs !== undefined ? { delay: formatDuration(restart.delayMs) } : {}),
            ...(restart.maxAttempts !== undefined ? { max_attempts: restart.maxAttempts } : {}),
            ...(restart.windowMs !== undefined ? { window: formatDuration(restart.windowMs) } : {}),
          },
        }
      : {}),
    ...(Object.keys(placement).length > 0 ? { placement } : {}),
    ...(Object.keys(limits).length > 0 || Object.keys(reservations).length > 0
      ? { resources: { ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(Object.keys(reservations).length > 0 ? { reservations } : {}) } }
      : {}),
  };
}

/**
 * `HOST_IP:[PUBLISHED]:TARGET/PROTOCOL`: the short syntax, because the long one has no `host_ip`
 * in Compose v1 (Debian 12's docker-compose), and envctl binds 127.0.0.1 unless told otherwise.
 */
export function composePort(port: PortBinding): string {
  const hostIp = port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp;
  return `${hostIp}:${port.published ?? ''}:${port.target}/${port.protocol}`;
}

function composeHealthcheck(healthcheck: Healthcheck): Record<string, unknown> {
  if (healthcheck.disabled) return { disable: true };
  return {
    test: healthcheck.test,
    interval: formatDuration(healthcheck.intervalMs),
    timeout: formatDuration(healthcheck.timeoutMs),
    retries: healthcheck.retries,
    ...(healthcheck.startPeriodMs > 0 ? { start_period: formatDuration(healthcheck.startPeriodMs) } : {}),
    ...(healthcheck.startIntervalMs !== DEFAULT_START_INTERVAL_MS ? { start_interval: formatDuration(healthcheck.startIntervalMs) } : {}),
  };
}

function composeVolume(volume: VolumeModel): Record<string, unknown> {
  // Compose refuses driver settings beside `external`.
  if (volume.external) return { name: volume.name, external: true };
  return { name: volume.name, driver: volume.driver, ...nonEmpty('driver_opts', volume.driverOpts), ...nonEmpty('labels', volume.labels) };
}

function composeNetwork(network: NetworkModel): Record<string, unknown> {
  if (network.external) return { name: network.name, external: true };
  return {
    name: network.name,
    driver: network.driver,
    ...nonEmpty('driver_opts', network.driverOpts),
    ...(network.internal ? { internal: true } : {}),
    ...(network.attachable ? { attachable: true } : {}),
    ...nonEmpty('labels', network.labels),
  };
}

const DURATION_UNITS: ReadonlyArray<[string, number]> = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
  ['us', 0.001],
];

/** Milliseconds → a Go-style duration as Compose writes it: 1000 → "1s", 500 → "500ms", 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  // Whole microseconds: the smallest unit a definition can express.
  let rest = Math.round(ms * 1000);
  if (rest === 0) return '0s';
  let text = '';
  for (const [unit, size] of DURATION_UNITS) {
    const step = Math.round(size * 1000);
    const count = Math.floor(rest / step);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * step;
  }
  return text;
}

/** Every string value with `$` doubled, so neither Compose nor envctl interpolates it again. Keys are left alone. */
export function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeDollars(item)]));
  return value;
}

function nonEmpty(key: string, record: Record<string, string>): Record<string, Record<string, string>> {
  return Object.keys(record).length > 0 ? { [key]: { ...record } } : {};
}
