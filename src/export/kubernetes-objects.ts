/**
 * The resolved model of one environment → Kubernetes objects (pure). Every setting either maps to
 * a field, is recorded as an annotation, or becomes a warning naming the service and the key: nothing
 * is dropped silently. Objects and map keys come out in a stable order, so two exports diff well.
 */
import { createHash } from 'node:crypto';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { INodeSelectorRequirement } from 'kubernetes-models/v1/NodeSelectorRequirement';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type { IAnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { ICanaryStep } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/CanaryStep';
import type { IMetric } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Metric';
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import { UsageError } from '../errors.js';
import type { DeployConfig, EnvironmentModel, FileGrant, FileObjectModel, Healthcheck, ServiceModel } from '../definition/model.js';
import type { InfraCheck, ReleaseConfig } from '../definition/schema.js';
import type { Protocol } from '../definition/values.js';

export type RolloutsMode = 'argo' | 'none';

export type KubernetesObject = IConfigMap | ISecret | IPersistentVolumeClaim | IService | IDeployment | IDaemonSet | IJob | IRollout | IAnalysisTemplate;

/** One emitted object and the comment written above it (why it looks the way it does; what to adapt). */
export interface ManifestEntry {
  object: KubernetesObject;
  comment: string[];
}

/** Something of the definition that has no Kubernetes counterpart; `key` is the dotted path in the definition. */
export interface ExportWarning {
  service: string | undefined;
  key: string;
  message: string;
}

export interface KubernetesExportInput {
  model: EnvironmentModel;
  /** Service → the content-hashed reference of its locally built image (see build-inputs.ts). */
  builtImages: Readonly<Record<string, string>>;
  rollouts: RolloutsMode;
  /** Registry prefix for built images (`registry.example.com/team`); undefined keeps the local reference. */
  registry?: string | undefined;
  /** Contents of the files of top-level `secrets:` / `configs:`, by absolute path (read by the caller). */
  files?: Readonly<Record<string, Buffer>>;
}

export interface KubernetesExport {
  entries: ManifestEntry[];
  warnings: ExportWarning[];
  /** Lines for the stream's header comment: images to push, published ports, secrets. */
  notes: string[];
}

/** Kubernetes has no default storage size; this is what a claim asks for unless the user edits it. */
export const DEFAULT_CLAIM_SIZE = '1Gi';
/** Where the analysis hint expects Prometheus (the in-cluster address of the common charts). */
const PROMETHEUS_HINT_ADDRESS = 'http://prometheus-server.monitoring.svc:80';
const KIND_ORDER = ['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Service', 'Deployment', 'DaemonSet', 'Job', 'AnalysisTemplate', 'Rollout'];
/** A DNS-1035 label: what a Service name must be (and a safe choice for every other object). */
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Annotation/label keys: an optional DNS prefix, then a name of letters, digits, `-`, `_`, `.`. */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Variable names that hold credentials; their values go to a Secret instead of a ConfigMap. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;
/** A URL with a password in it (`postgres://user:pass@db/app`). */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]+:[^/@\s]+@/i;
export const ANNOTATION = {
  publishedPorts: 'envctl.dev/published-ports',
  dependsOn: 'envctl.dev/depends-on',
  configHash: 'envctl.dev/config-hash',
  volume: 'envctl.dev/volume',
  image: 'envctl.dev/built-image',
} as const;

type FileKind = 'secrets' | 'configs';

function deployOf(service: ServiceModel): DeployConfig | undefined {
  return service.deploy;
}

function grantsOf(service: ServiceModel, kind: FileKind): FileGrant[] {
  return service[kind] ?? [];
}

function fileObjectsOf(model: EnvironmentModel, kind: FileKind): FileObjectModel[] {
  return Object.values(model[kind] ?? {}).sort((a, b) => a.key.localeCompare(b.key));
}

export function toKubernetesObjects(input: KubernetesExportInput): KubernetesExport {
  const { model } = input;
  const warnings: ExportWarning[] = [];
  const notes: string[] = [];
  const entries: ManifestEntry[] = [];
  const names = kubernetesNames(model);
  const release = model.pipeline?.release;
  const releaseService = release && model.services[release.service] ? release.service : undefined;
  if (release && !releaseService) {
    warnings.push({ service: release.service, key: 'pipeline.release.service', message: `the release service "${release.service}" is not active in this environment: no Rollout is made` });
  }
  const oneShot = oneShotServices(model);
  const claims = claimNames(model, names);

  for (const volume of Object.values(model.volumes)) {
    if (volume.external) continue;
    entries.push({ object: persistentVolumeClaim(model, claims[volume.key]!, volume.key, warnings), comment: [`from volumes.${volume.key}; the size is a default (${DEFAULT_CLAIM_SIZE}): set what the data needs`] });
  }
  checkNetworks(model, warnings);
  for (const kind of ['configs', 'secrets'] as const) {
    for (const object of fileObjectsOf(model, kind)) entries.push(fileObjectEntry(input, kind, object));
  }

  for (const service of Object.values(model.services)) {
    const name = names[service.name]!;
    const labels = selectorLabels(model, name);
    const env = splitEnvironment(environmentKeys(service, warnings));
    if (Object.keys(env.plain).length > 0) {
      entries.push({ object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-env`, labels: commonLabels(model, name) }, data: env.plain }, comment: [`environment of ${service.name} (variables without credentials)`] });
    }
    if (Object.keys(env.secret).length > 0) {
      entries.push({
        object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-env`, labels: commonLabels(model, name) }, type: 'Opaque', stringData: env.secret },
        comment: [`environment of ${service.name} that holds credentials (${Object.keys(env.secret).join(', ')}): the values are written as the definition has them;`, 'keep this file out of version control or create the Secret with your secret manager instead'],
      });
    }
    const ports = servicePorts(service, warnings);
    const isJob = oneShot.has(service.name);
    if (!isJob) entries.push({ object: kubernetesService(model, service, name, ports), comment: serviceComment(service, ports) });
    const deploy = deployOf(service);

    const image = imageFor(input, service);
    const pod = podTemplate(input, service, name, labels, image, ports, env, claims, warnings, isJob);
    const replicas = replicasOf(service);
    const comment = imageComment(input, service, image);
    if (isJob) {
      const restart = /^on-failure(?::(\d+))?$/.exec(service.restart);
      pod.spec!.restartPolicy = restart ? 'OnFailure' : 'Never';
      entries.push({
        object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, labels: commonLabels(model, name), ...workloadAnnotations(service) }, spec: { backoffLimit: restart ? Number(restart[1] ?? 6) : 0, template: pod } },
        comment: [`${service.name} runs to completion (others wait for service_completed_successfully): a Job`, ...comment],
      });
    } else if (service.name === releaseService && input.rollouts === 'argo') {
      entries.push({ object: rollout(model, service, name, labels, pod, replicas, release!), comment: [`${service.name} is the release service: an Argo Rollouts canary with the steps of pipeline.release (needs the Argo Rollouts controller)`, ...comment] });
      entries.push({ object: analysisTemplate(model, name, release!), comment: analysisComment() });
      releaseWarnings(release!, warnings);
      if (deploy?.mode === 'global') warnings.push({ service: service.name, key: `services.${service.name}.deploy.mode`, message: 'global is not exported for the release service: a Rollout has replicas, not one pod per node' });
    } else {
      if (service.name === releaseService) {
        warnings.push({ service: service.name, key: 'pipeline.release', message: `--rollouts none: the canary steps (${release!.steps.join('%, ')}%) and their analysis are not exported; the Deployment rolls its pods over with the default rolling update` });
      }
      const usesClaim = pod.spec!.volumes?.some((volume) => volume.persistentVolumeClaim !== undefined) ?? false;
      const metadata = { name, labels: commonLabels(model, name), ...workloadAnnotations(service) };
      if (deploy?.mode === 'global') {
        entries.push({ object: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector: { matchLabels: labels }, template: pod } }, comment: [`${service.name} has deploy.mode: global: one pod per node`, ...comment] });
      } else {
        const update = updateStrategy(service, usesClaim, warnings);
        entries.push({ object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { replicas, selector: { matchLabels: labels }, ...update, template: pod } }, comment });
      }
    }
  }
  for (const [service, name] of Object.entries(names)) {
    if (service !== name) warnings.push({ service, key: `services.${service}`, message: `the name becomes "${name}" in Kubernetes: other services reach it as ${name}, not ${service} (check URLs in environment values)` });
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = `${entry.object.kind} ${objectName(entry)}`;
    if (seen.has(id)) throw new UsageError('KUBERNETES_NAME', `two objects would both be ${id}`, 'rename the service, volume, secret or config whose name ends up twice');
    seen.add(id);
  }
  notes.push(...headerNotes(input, names));
  entries.sort((a, b) => KIND_ORDER.indexOf(a.object.kind) - KIND_ORDER.indexOf(b.object.kind) || objectName(a).localeCompare(objectName(b)));
  return { entries, warnings, notes };
}

export function objectName(entry: ManifestEntry): string {
  return entry.object.metadata?.name ?? '';
}

/** `deploy.replicas` where the definition has it, else 1. */
function replicasOf(service: ServiceModel): number {
  const replicas = deployOf(service)?.replicas;
  return typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0 ? replicas : 1;
}

/** Service name → object name: lowercase, `_` and `.` as `-`. A name that cannot be made valid, or two that collide, is bad input. */
function kubernetesNames(model: EnvironmentModel): Record<string, string> {
  const out: Record<string, string> = {};
  const taken = new Map<string, string>();
  for (const service of Object.keys(model.services)) {
    const name = toDnsLabel(service);
    if (!DNS_LABEL.test(name) || name.length > 50) {
      throw new UsageError('KUBERNETES_NAME', `service "${service}" cannot be a Kubernetes name ("${name}")`, 'Kubernetes names start with a letter and use lowercase letters, digits and - (at most 50 here, to leave room for suffixes): rename the service');
    }
    const other = taken.get(name);
    if (other !== undefined) throw new UsageError('KUBERNETES_NAME', `services "${other}" and "${service}" both become "${name}" in Kubernetes`, 'rename one of them');
    taken.set(name, service);
    out[service] = name;
  }
  return out;
}

function toDnsLabel(name: string): string {
  return name.toLowerCase().replaceAll(/[_.]/g, '-');
}

/** Volume key → claim name (`<key>`, made a DNS label); external volumes keep their engine name (an existing claim). */
function claimNames(model: EnvironmentModel, serviceNames: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const services = new Set(Object.values(serviceNames));
  for (const volume of Object.values(model.volumes)) {
    if (volume.external) {
      out[volume.key] = volume.name;
      continue;
    }
    const name = toDnsLabel(volume.key);
    if (!DNS_LABEL.test(name) || name.length > 63) {
      throw new UsageError('KUBERNETES_NAME', `volume "${volume.key}" cannot be a Kubernetes claim name ("${name}")`, 'rename the volume: lowercase letters, digits and -, starting with a letter');
    }
    // Claims and ConfigMaps live in other kinds than Services, but a shared name would still confuse readers.
    out[volume.key] = services.has(name) ? `${name}-data` : name;
  }
  return out;
}

/** Services some other service waits for with `service_completed_successfully`: run-to-completion tasks. */
function oneShotServices(model: EnvironmentModel): Set<string> {
  const out = new Set<string>();
  for (const service of Object.values(model.services)) {
    for (const [name, dependency] of Object.entries(service.dependsOn)) {
      if (dependency.condition === 'service_completed_successfully' && model.services[name]) out.add(name);
    }
  }
  return out;
}

function selectorLabels(model: EnvironmentModel, name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': labelValue(model.project) };
}

function commonLabels(model: EnvironmentModel, name: string): Record<string, string> {
  return { ...selectorLabels(model, name), 'envctl.dev/env': labelValue(model.env) };
}

/** Label values: at most 63 characters, alphanumeric at both ends. */
function labelValue(value: string): string {
  return value.slice(0, 63).replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/** ConfigMap and Secret keys allow letters, digits, `-`, `_` and `.`: another variable name cannot be carried by envFrom. */
function environmentKeys(service: ServiceModel, warnings: ExportWarning[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.environment)) {
    if (/^[-._a-zA-Z0-9]+$/.test(key)) out[key] = value;
    else warnings.push({ service: service.name, key: `services.${service.name}.environment.${key}`, message: 'not exported: a ConfigMap or Secret key uses only letters, digits, -, _ and .' });
  }
  return out;
}

interface SplitEnvironment {
  plain: Record<string, string>;
  secret: Record<string, string>;
}

/** Variables sorted by name; credentials (by name, or a URL with a password) apart. */
export function splitEnvironment(environment: Readonly<Record<string, string>>): SplitEnvironment {
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const key of Object.keys(environment).sort()) {
    const value = environment[key]!;
    if (SECRET_NAME.test(key) || URL_WITH_PASSWORD.test(value)) secret[key] = value;
    else plain[key] = value;
  }
  return { plain, secret };
}

interface PortSpec {
  port: number;
  protocol: Protocol;
}

/** Container ports: the targets of `ports:` and `expose:`, sorted, each once. */
function servicePorts(service: ServiceModel, warnings: ExportWarning[]): PortSpec[] {
  const out = new Map<string, PortSpec>();
  const add = (port: number, protocol: Protocol) => out.set(`${port}/${protocol}`, { port, protocol });
  for (const port of service.ports) add(port.target, port.protocol);
  service.expose.forEach((text, index) => {
    const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(text);
    const first = Number(match?.[1]);
    const last = match?.[2] !== undefined ? Number(match[2]) : first;
    if (!match || first < 1 || last > 65535 || last < first || last - first > 100) {
      warnings.push({ service: service.name, key: `services.${service.name}.expose[${index}]`, message: `"${text}" is not a port or a small port range: not exported` });
      return;
    }
    for (let port = first; port <= last; port += 1) add(port, (match[3] as Protocol | undefined) ?? 'tcp');
  });
  return [...out.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function portName(port: PortSpec): string {
  return `${port.protocol}-${port.port}`;
}

/**
 * ClusterIP with the declared ports; without any, a headless Service, whose name resolves to the
 * pods' addresses (every port reachable, as on a Compose network).
 */
function kubernetesService(model: EnvironmentModel, service: ServiceModel, name: string, ports: PortSpec[]): IService {
  const published = service.ports.map((port) => `${port.hostIp}:${port.published ?? '(any)'}->${port.target}/${port.protocol}`);
  // endpoint_mode: dnsrr resolves the name to the tasks themselves: a headless Service does the same.
  const headless = ports.length === 0 || deployOf(service)?.endpointMode === 'dnsrr';
  const spec: IService['spec'] =
    !headless
      ? { type: 'ClusterIP', selector: selectorLabels(model, name), ports: servicePortList(ports) }
      : { clusterIP: 'None', selector: selectorLabels(model, name), ...(ports.length > 0 ? { ports: servicePortList(ports) } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: commonLabels(model, name), ...(published.length > 0 ? { annotations: { [ANNOTATION.publishedPorts]: published.join(', ') } } : {}) },
    spec,
  };
}

function servicePortList(ports: PortSpec[]): IServicePort[] {
  return ports.map((port) => ({ name: portName(port), port: port.port, targetPort: port.port, protocol: port.protocol === 'udp' ? 'UDP' : 'TCP' }));
}

function serviceComment(service: ServiceModel, ports: PortSpec[]): string[] {
  const lines = ports.length > 0 ? [`${service.name}: reachable in the cluster as ${toDnsLabel(service.name)}:${ports.map((port) => port.port).join(',')}`] : [`${service.name} declares no ports: a headless Service, so its name resolves to its pods as on a Compose network`];
  for (const port of service.ports) {
    lines.push(`published on ${port.hostIp}:${port.published ?? '(any)'} locally: a ClusterIP is not reachable from outside; use an Ingress, a LoadBalancer or \`kubectl port-forward svc/${toDnsLabel(service.name)} ${port.published ?? port.target}:${port.target}\``);
  }
  return lines;
}

function imageFor(input: KubernetesExportInput, service: ServiceModel): string {
  const built = input.builtImages[service.name];
  if (built !== undefined) return input.registry ? `${input.registry.replace(/\/+$/, '')}/${built}` : built;
  return service.image ?? '';
}

function imageComment(input: KubernetesExportInput, service: ServiceModel, image: string): string[] {
  const built = input.builtImages[service.name];
  if (built === undefined) return [];
  return input.registry
    ? [`image built locally by envctl (content-hashed tag): push it first: docker tag ${built} ${image} && docker push ${image}`]
    : [`image built locally by envctl (content-hashed tag ${built}): push it to a registry the cluster can pull from, and prefix it (--registry)`];
}

function workloadAnnotations(service: ServiceModel): { annotations?: Record<string, string> } {
  const dependsOn = Object.entries(service.dependsOn)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, dependency]) => `${name} (${dependency.condition})`);
  const annotations: Record<string, string> = {};
  if (dependsOn.length > 0) annotations[ANNOTATION.dependsOn] = dependsOn.join(', ');
  // deploy.labels label the Swarm service (not its containers): on the workload here. Invalid keys are warned about in podTemplate.
  const deployLabels = deployOf(service)?.labels ?? {};
  for (const key of Object.keys(deployLabels).sort()) if (QUALIFIED_NAME.test(key)) annotations[key] = deployLabels[key]!;
  return Object.keys(annotations).length > 0 ? { annotations } : {};
}

/**
 * deploy.update_config → the rolling update: start-first surges `parallelism` pods before stopping
 * old ones, stop-first stops `parallelism` first (0: all at once); monitor → minReadySeconds.
 * A ReadWriteOnce claim forces Recreate (it cannot be attached to the old and the new pod at once).
 */
function updateStrategy(service: ServiceModel, usesClaim: boolean, warnings: ExportWarning[]): Pick<NonNullable<IDeployment['spec']>, 'strategy' | 'minReadySeconds' | 'progressDeadlineSeconds'> {
  const deploy = deployOf(service);
  const key = `services.${service.name}.deploy`;
  const update = deploy?.updateConfig;
  if (deploy?.rollbackConfig !== undefined) warnings.push({ service: service.name, key: `${key}.rollback_config`, message: 'not exported: Kubernetes rolls back only on request (`kubectl rollout undo`)' });
  if (usesClaim) {
    if (update) warnings.push({ service: service.name, key: `${key}.update_config`, message: 'not exported: the service mounts a ReadWriteOnce claim, so its Deployment uses the Recreate strategy' });
    return { strategy: { type: 'Recreate' } };
  }
  if (!update) return {};
  if (update.delayMs > 0) warnings.push({ service: service.name, key: `${key}.update_config.delay`, message: 'not exported: a Deployment has no pause between batches (minReadySeconds comes from monitor)' });
  if (update.failureAction === 'rollback') warnings.push({ service: service.name, key: `${key}.update_config.failure_action`, message: 'rollback is not exported: a stalled Deployment is only marked (progressDeadlineSeconds); roll back with `kubectl rollout undo` or use Argo Rollouts' });
  const batch: number | string = update.parallelism === 0 ? '100%' : update.parallelism;
  const rollingUpdate = update.order === 'start-first' ? { maxSurge: batch, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: batch };
  return { strategy: { type: 'RollingUpdate', rollingUpdate }, ...(update.monitorMs > 0 ? { minReadySeconds: Math.ceil(update.monitorMs / 1000) } : {}) };
}

/** Placement constraints on node labels, hostname, OS and architecture → required node affinity; the rest are warnings. */
function scheduling(service: ServiceModel, warnings: ExportWarning[]): Pick<IPodSpec, 'affinity'> {
  const placement = deployOf(service)?.placement;
  if (!placement) return {};
  const key = `services.${service.name}.deploy.placement`;
  const expressions: INodeSelectorRequirement[] = [];
  placement.constraints.forEach((constraint, index) => {
    const match = /^(node\.labels\.(\S+)|node\.hostname|node\.platform\.os|node\.platform\.arch)\s*(==|!=)\s*(\S+)$/.exec(constraint);
    if (!match) {
      warnings.push({ service: service.name, key: `${key}.constraints[${index}]`, message: `"${constraint}" is not exported: only node.labels.*, node.hostname and node.platform.* have Kubernetes counterparts (node labels)` });
      return;
    }
    const labelKey = match[2] ?? { 'node.hostname': 'kubernetes.io/hostname', 'node.platform.os': 'kubernetes.io/os', 'node.platform.arch': 'kubernetes.io/arch' }[match[1]!]!;
    expressions.push({ key: labelKey, operator: match[3] === '==' ? 'In' : 'NotIn', values: [match[4]!] });
  });
  placement.preferences.forEach((spread, index) => warnings.push({ service: service.name, key: `${key}.preferences[${index}]`, message: `spread over ${spread} is not exported: use topologySpreadConstraints` }));
  if (placement.maxReplicasPerNode !== undefined) warnings.push({ service: service.name, key: `${key}.max_replicas_per_node`, message: 'not exported: use topologySpreadConstraints or pod anti-affinity' });
  return expressions.length > 0 ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: expressions }] } } } } : {};
}

/** deploy.resources: limits → limits, reservations → requests (CPU in millicores, memory in bytes). */
function resources(service: ServiceModel, warnings: ExportWarning[]): Pick<IContainer, 'resources'> {
  const set = deployOf(service)?.resources;
  if (!set) return {};
  const quantities = (values: { nanoCpus?: number | undefined; memoryBytes?: number | undefined }): Record<string, string> => ({
    ...(values.nanoCpus !== undefined ? { cpu: `${Math.max(1, Math.round(values.nanoCpus / 1e6))}m` } : {}),
    ...(values.memoryBytes !== undefined ? { memory: String(values.memoryBytes) } : {}),
  });
  if (set.limits.pids !== undefined) warnings.push({ service: service.name, key: `services.${service.name}.deploy.resources.limits.pids`, message: 'not exported: the pod PID limit is a kubelet setting' });
  const limits = quantities(set.limits);
  const requests = quantities(set.reservations);
  const out: NonNullable<IContainer['resources']> = {};
  if (Object.keys(limits).length > 0) out.limits = limits;
  if (Object.keys(requests).length > 0) out.requests = requests;
  return Object.keys(out).length > 0 ? { resources: out } : {};
}

/** A top-level secret or config → a Secret or ConfigMap named `secret-<key>` / `config-<key>`, holding the file under the key. */
function fileObjectEntry(input: KubernetesExportInput, kind: FileKind, object: FileObjectModel): ManifestEntry {
  const name = fileObjectName(kind, object.key);
  const content = input.files?.[object.file];
  if (content === undefined) throw new UsageError('KUBERNETES_FILE', `the file of ${kind}.${object.key} (${object.file}) was not read`, 'check that the file exists and is readable');
  const text = utf8(content);
  const labels = { 'app.kubernetes.io/part-of': labelValue(input.model.project), 'envctl.dev/env': labelValue(input.model.env) };
  if (kind === 'configs') {
    return { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, ...(text !== undefined ? { data: { [object.key]: text } } : { binaryData: { [object.key]: content.toString('base64') } }) }, comment: [`from configs.${object.key} (${object.file})`] };
  }
  return {
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name, labels }, type: 'Opaque', ...(text !== undefined ? { stringData: { [object.key]: text } } : { data: { [object.key]: content.toString('base64') } }) },
    comment: [`from secrets.${object.key} (${object.file}): the file's content is in this manifest;`, 'keep it out of version control or create the Secret with your secret manager instead'],
  };
}

function fileObjectName(kind: FileKind, key: string): string {
  const name = `${kind === 'secrets' ? 'secret' : 'config'}-${toDnsLabel(key)}`;
  if (!DNS_LABEL.test(name) || name.length > 63) throw new UsageError('KUBERNETES_NAME', `${kind}.${key} cannot be a Kubernetes name ("${name}")`, 'rename it: lowercase letters, digits and -');
  return name;
}

/** The text of a file that is valid UTF-8, else undefined (written base64). */
function utf8(content: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return undefined;
  }
}

function podTemplate(
  input: KubernetesExportInput,
  service: ServiceModel,
  name: string,
  labels: Record<string, string>,
  image: string,
  ports: PortSpec[],
  env: SplitEnvironment,
  claims: Record<string, string>,
  warnings: ExportWarning[],
  isJob: boolean,
): IPodTemplateSpec {
  const { model } = input;
  const key = `services.${service.name}`;
  const { volumes, mounts } = podVolumes(model, service, claims, warnings);
  const container: IContainer = { name, image };
  if (service.entrypoint) container.command = [...service.entrypoint];
  if (service.command) container.args = [...service.command];
  if (service.workingDir !== undefined) container.workingDir = service.workingDir;
  if (ports.length > 0) container.ports = ports.map((port): IContainerPort => ({ name: portName(port), containerPort: port.port, protocol: port.protocol === 'udp' ? 'UDP' : 'TCP' }));
  const envFrom: IContainer['envFrom'] = [];
  if (Object.keys(env.plain).length > 0) envFrom.push({ configMapRef: { name: `${name}-env` } });
  if (Object.keys(env.secret).length > 0) envFrom.push({ secretRef: { name: `${name}-env` } });
  if (envFrom.length > 0) container.envFrom = envFrom;
  if (!isJob) Object.assign(container, probes(model, service, warnings));
  Object.assign(container, resources(service, warnings));
  for (const kind of ['secrets', 'configs'] as const) {
    grantsOf(service, kind).forEach((grant, index) => {
      const objectName = fileObjectName(kind, grant.source);
      const volumeName = volumes.some((volume) => volume.name === objectName) ? `${objectName}-${index}`.slice(0, 63) : objectName;
      const items = [{ key: grant.source, path: grant.source, ...(grant.mode !== undefined ? { mode: grant.mode } : {}) }];
      volumes.push(kind === 'secrets' ? { name: volumeName, secret: { secretName: objectName, items } } : { name: volumeName, configMap: { name: objectName, items } });
      mounts.push({ name: volumeName, mountPath: grant.target, subPath: grant.source, readOnly: true });
      if (grant.uid !== undefined || grant.gid !== undefined) {
        warnings.push({ service: service.name, key: `${key}.${kind}[${index}].${grant.uid !== undefined ? 'uid' : 'gid'}`, message: 'the owner is not exported: Kubernetes mounts the file as root (securityContext.fsGroup gives a group access)' });
      }
    });
  }
  const restartPolicy = deployOf(service)?.restartPolicy;
  if (!isJob && restartPolicy !== undefined && (restartPolicy.condition !== 'any' || restartPolicy.maxAttempts !== undefined)) {
    warnings.push({ service: service.name, key: `${key}.deploy.restart_policy`, message: 'not exported: the pods of a Deployment always restart (run-to-completion work is a Job)' });
  }
  if (mounts.length > 0) container.volumeMounts = mounts;
  if (service.user !== undefined) {
    const ids = /^(\d+)(?::(\d+))?$/.exec(service.user);
    if (ids) container.securityContext = { runAsUser: Number(ids[1]), ...(ids[2] !== undefined ? { runAsGroup: Number(ids[2]) } : {}) };
    else warnings.push({ service: service.name, key: `${key}.user`, message: `user "${service.user}" is a name: Kubernetes needs numeric ids (securityContext.runAsUser); not exported` });
  }
  if (service.stopSignal !== undefined && service.stopSignal !== 'SIGTERM') {
    warnings.push({ service: service.name, key: `${key}.stop_signal`, message: `${service.stopSignal} is not exported: Kubernetes stops containers with SIGTERM (lifecycle.stopSignal needs the ContainerStopSignals feature)` });
  }
  for (const [network, { aliases }] of Object.entries(service.networks)) {
    if (aliases.length > 0) {
      warnings.push({ service: service.name, key: `${key}.networks.${network}.aliases`, message: `aliases ${aliases.join(', ')} are not exported: only the Service name ${name} resolves; add a Service per alias if something uses them` });
    }
  }
  for (const labelKey of Object.keys(deployOf(service)?.labels ?? {}).sort()) {
    if (!QUALIFIED_NAME.test(labelKey)) warnings.push({ service: service.name, key: `${key}.deploy.labels.${labelKey}`, message: `"${labelKey}" is not a valid Kubernetes annotation key: not exported` });
  }
  const annotations: Record<string, string> = { [ANNOTATION.configHash]: configHash(service.environment) };
  for (const labelKey of Object.keys(service.labels).sort()) {
    if (labelKey.startsWith('dev.envctl.')) continue;
    if (QUALIFIED_NAME.test(labelKey)) annotations[labelKey] = service.labels[labelKey]!;
    else warnings.push({ service: service.name, key: `${key}.labels.${labelKey}`, message: `"${labelKey}" is not a valid Kubernetes annotation key: not exported` });
  }
  return {
    metadata: { labels, annotations },
    spec: {
      containers: [container],
      ...(volumes.length > 0 ? { volumes } : {}),
      ...scheduling(service, warnings),
      ...(service.stopGracePeriodMs !== undefined ? { terminationGracePeriodSeconds: Math.ceil(service.stopGracePeriodMs / 1000) } : {}),
    },
  };
}

/**
 * The environment's hash on the pod template: a changed ConfigMap or Secret alone does not restart
 * pods, a changed annotation does (`kubectl apply` rolls the Deployment).
 */
function configHash(environment: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(environment).sort().map((key) => [key, environment[key]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

function podVolumes(model: EnvironmentModel, service: ServiceModel, claims: Record<string, string>, warnings: ExportWarning[]): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  const volumes = new Map<string, IVolume>();
  const mounts: IVolumeMount[] = [];
  service.mounts.forEach((mount, index) => {
    const key = `services.${service.name}.volumes[${index}]`;
    let volumeName: string;
    if (mount.type === 'bind') {
      warnings.push({ service: service.name, key, message: `bind mount of the host path ${mount.source} at ${mount.target} is not exported: pods run on other machines; put the files in the image, a ConfigMap or a volume` });
      return;
    } else if (mount.type === 'tmpfs') {
      volumeName = `tmpfs-${index}`;
      volumes.set(volumeName, { name: volumeName, emptyDir: { medium: 'Memory', ...(mount.tmpfsSize !== undefined ? { sizeLimit: String(mount.tmpfsSize) } : {}) } });
    } else if (mount.source === undefined) {
      // An anonymous volume lives as long as its container: emptyDir lives as long as the pod.
      volumeName = `anonymous-${index}`;
      volumes.set(volumeName, { name: volumeName, emptyDir: {} });
    } else {
      const claim = claims[mount.source];
      if (claim === undefined) {
        warnings.push({ service: service.name, key, message: `volume "${mount.source}" is not declared under volumes: not exported` });
        return;
      }
      volumeName = `volume-${toDnsLabel(mount.source)}`.slice(0, 63);
      volumes.set(volumeName, { name: volumeName, persistentVolumeClaim: { claimName: claim } });
      if (replicasOf(service) > 1) {
        warnings.push({ service: service.name, key, message: `volume "${mount.source}" is a ReadWriteOnce claim shared by ${replicasOf(service)} replicas: they must run on one node, or use a ReadWriteMany storage class` });
      }
    }
    mounts.push({ name: volumeName, mountPath: mount.target, ...(mount.readOnly ? { readOnly: true } : {}) });
  });
  const users = new Map<string, string[]>();
  for (const other of Object.values(model.services)) {
    for (const mount of other.mounts) if (mount.type === 'volume' && mount.source !== undefined) users.set(mount.source, [...new Set([...(users.get(mount.source) ?? []), other.name])]);
  }
  for (const mount of service.mounts) {
    const sharing = mount.type === 'volume' && mount.source !== undefined ? (users.get(mount.source) ?? []) : [];
    if (sharing.length > 1 && sharing[0] === service.name) {
      warnings.push({ service: service.name, key: `volumes.${mount.source}`, message: `volume "${mount.source}" is shared by ${sharing.join(', ')}: a ReadWriteOnce claim needs their pods on one node, or use a ReadWriteMany storage class` });
    }
  }
  return { volumes: [...volumes.values()], mounts };
}

function persistentVolumeClaim(model: EnvironmentModel, name: string, key: string, warnings: ExportWarning[]): IPersistentVolumeClaim {
  const volume = model.volumes[key]!;
  if (volume.driver !== 'local' || Object.keys(volume.driverOpts).length > 0) {
    warnings.push({ service: undefined, key: `volumes.${key}.${volume.driver !== 'local' ? 'driver' : 'driver_opts'}`, message: 'the volume driver and its options are not exported: choose a storageClassName for the claim' });
  }
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': labelValue(model.project), 'envctl.dev/env': labelValue(model.env) }, annotations: { [ANNOTATION.volume]: key } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: DEFAULT_CLAIM_SIZE } } },
  };
}

function checkNetworks(model: EnvironmentModel, warnings: ExportWarning[]): void {
  const networks = Object.values(model.networks);
  for (const network of networks) {
    if (network.internal) {
      warnings.push({ service: undefined, key: `networks.${network.key}.internal`, message: 'an internal network is not exported: Kubernetes pods share one network; isolate them with NetworkPolicies' });
    } else if (networks.length > 1) {
      warnings.push({ service: undefined, key: `networks.${network.key}`, message: 'separate networks are not exported: Kubernetes pods share one network; isolate them with NetworkPolicies' });
    }
  }
}

/** Whole seconds for a probe field (Kubernetes has no smaller unit); a rounded value is a warning. */
function seconds(ms: number, service: string, key: string, warnings: ExportWarning[]): number {
  const value = Math.max(1, Math.ceil(ms / 1000));
  if (value * 1000 !== ms) warnings.push({ service, key, message: `${ms}ms is rounded up to ${value}s: Kubernetes probes count whole seconds` });
  return value;
}

type ProbeAction = Pick<IProbe, 'exec' | 'httpGet'>;

/**
 * Readiness and liveness from the healthcheck (the same test, interval, timeout and retries); its
 * start_period becomes a startup probe that tries every start_interval for that long, after which
 * `retries` failures count as in Docker. Without a healthcheck, a staging `http` check for the
 * service gives the readiness probe.
 */
function probes(model: EnvironmentModel, service: ServiceModel, warnings: ExportWarning[]): Pick<IContainer, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const healthcheck: Healthcheck | undefined = service.healthcheck;
  const key = `services.${service.name}.healthcheck`;
  if (healthcheck === undefined) {
    const check = model.pipeline?.staging?.checks.find((candidate): candidate is Extract<InfraCheck, { kind: 'http' }> => candidate.kind === 'http' && candidate.service === service.name);
    const port = check?.port ?? service.ports[0]?.target;
    if (check === undefined || port === undefined || check.status >= 400) return {};
    return { readinessProbe: { httpGet: { path: check.path, port }, periodSeconds: 10, failureThreshold: 3 } };
  }
  if (healthcheck.disabled) return {};
  const action = probeAction(healthcheck.test);
  const timing = {
    periodSeconds: seconds(healthcheck.intervalMs, service.name, `${key}.interval`, warnings),
    timeoutSeconds: seconds(healthcheck.timeoutMs, service.name, `${key}.timeout`, warnings),
    failureThreshold: Math.max(1, healthcheck.retries),
  };
  const out: Pick<IContainer, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> = { readinessProbe: { ...action, ...timing }, livenessProbe: { ...action, ...timing } };
  if (healthcheck.startPeriodMs > 0) {
    const period = seconds(healthcheck.startIntervalMs, service.name, `${key}.start_interval`, warnings);
    out.startupProbe = { ...action, periodSeconds: period, timeoutSeconds: timing.timeoutSeconds, failureThreshold: Math.ceil(healthcheck.startPeriodMs / (period * 1000)) + timing.failureThreshold };
  }
  return out;
}

/** `CMD` runs as is, `CMD-SHELL` through /bin/sh -c; a plain curl/wget of a local URL becomes an HTTP probe (no tool needed in the image). */
export function probeAction(test: readonly string[]): ProbeAction {
  const http = httpProbe(test);
  if (http) return { httpGet: http };
  if (test[0] === 'CMD-SHELL') return { exec: { command: ['/bin/sh', '-c', test.slice(1).join(' ')] } };
  return { exec: { command: test.slice(1) } };
}

const LOCAL_URL = /^(https?):\/\/(?:localhost|127\.0\.0\.1)(?::(\d+))?(\/[^\s'"]*)?$/;

function httpProbe(test: readonly string[]): IProbe['httpGet'] | undefined {
  let words: string[];
  if (test[0] === 'CMD') words = test.slice(1);
  else {
    // Only a command without shell syntax, optionally followed by the usual `|| exit 1`.
    const shell = test.slice(1).join(' ').replace(/\s*\|\|\s*exit 1\s*$/, '');
    if (/[;&|`$()<>*?'"\\]/.test(shell)) return undefined;
    words = shell.split(/\s+/).filter(Boolean);
  }
  const [tool, ...rest] = words;
  const urls = rest.filter((word) => !word.startsWith('-'));
  if (urls.length !== 1) return undefined;
  const flags = rest.filter((word) => word.startsWith('-'));
  if (tool === 'curl') {
    // Without --fail curl succeeds on a 500: only then is it the same test as an HTTP probe.
    const fails = flags.some((flag) => flag === '--fail' || (/^-[a-zA-Z]+$/.test(flag) && flag.includes('f')));
    const harmless = flags.every((flag) => ['--fail', '--silent', '--show-error'].includes(flag) || /^-[fsS]+$/.test(flag));
    if (!fails || !harmless) return undefined;
  } else if (tool === 'wget') {
    if (!flags.every((flag) => ['-q', '--quiet', '--spider', '-O-', '-qO-', '--tries=1', '-T1'].includes(flag) || /^-[qO]+-?$/.test(flag))) return undefined;
  } else {
    return undefined;
  }
  const url = LOCAL_URL.exec(urls[0]!);
  if (!url) return undefined;
  const scheme = url[1] === 'https' ? 'HTTPS' : 'HTTP';
  return { path: url[3] ?? '/', port: Number(url[2] ?? (scheme === 'HTTPS' ? 443 : 80)), scheme };
}

/**
 * The canary: per release step, setWeight and a pause of stepMinDuration; a manual gate before a
 * step, or before promotion, is an indefinite pause (`kubectl argo rollouts promote`). Without a
 * traffic router Argo approximates weights by replica counts.
 */
function rollout(model: EnvironmentModel, service: ServiceModel, name: string, labels: Record<string, string>, pod: IPodTemplateSpec, replicas: number, release: ReleaseConfig): IRollout {
  const pause = `${Math.max(1, Math.ceil(release.stepMinDuration / 1000))}s`;
  const steps: ICanaryStep[] = [];
  release.steps.forEach((weight, index) => {
    if (release.gates.beforeStep.includes(weight)) steps.push({ pause: {} });
    steps.push({ setWeight: weight });
    const last = index === release.steps.length - 1;
    steps.push(last && release.gates.beforePromote === 'manual' ? { pause: {} } : { pause: { duration: pause } });
  });
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, labels: commonLabels(model, name), ...workloadAnnotations(service) },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: pod,
      strategy: {
        canary: {
          analysis: { templates: [{ templateName: `${name}-canary` }], startingStep: 1, args: [{ name: 'service-name', value: name }] },
          steps,
        },
      },
    },
  };
}

/**
 * A hint, not a copy of envctl's judge: the judge compares the canary with a fresh baseline by
 * statistics; on a cluster the metrics live in Prometheus, whose address and metric names vary.
 */
function analysisTemplate(model: EnvironmentModel, name: string, release: ReleaseConfig): IAnalysisTemplate {
  const interval = `${Math.max(1, Math.ceil(release.stepMinDuration / 1000))}s`;
  const errors = model.pipeline?.perf?.thresholds.errors ?? 0.01;
  const metrics: IMetric[] = [
    {
      name: 'error-rate',
      interval,
      failureLimit: 0,
      successCondition: `isNaN(result[0]) || result[0] <= ${errors}`,
      provider: {
        prometheus: {
          address: PROMETHEUS_HINT_ADDRESS,
          query: 'sum(rate(http_requests_total{service="{{args.service-name}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="{{args.service-name}}"}[1m]))',
        },
      },
    },
  ];
  const latencyMs = release.slo.latencyMs ?? model.pipeline?.perf?.thresholds.p95;
  if (latencyMs !== undefined) {
    metrics.push({
      name: 'latency-p95',
      interval,
      failureLimit: 0,
      successCondition: `isNaN(result[0]) || result[0] <= ${latencyMs / 1000}`,
      provider: {
        prometheus: {
          address: PROMETHEUS_HINT_ADDRESS,
          query: 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="{{args.service-name}}"}[1m])) by (le))',
        },
      },
    });
  }
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: `${name}-canary`, labels: commonLabels(model, name) },
    spec: { args: [{ name: 'service-name' }], metrics },
  };
}

function analysisComment(): string[] {
  return [
    'Analysis hint for the canary: adapt the Prometheus address, metric names and thresholds to your cluster,',
    'or remove `analysis` from the Rollout. A failed measurement aborts the rollout (traffic back to stable).',
  ];
}

function releaseWarnings(release: ReleaseConfig, warnings: ExportWarning[]): void {
  const service = release.service;
  if (release.onRegression === 'pause') warnings.push({ service, key: 'pipeline.release.onRegression', message: 'pause is not exported: a failed Argo analysis aborts the rollout' });
  if (release.sticky === 'cookie') warnings.push({ service, key: 'pipeline.release.sticky', message: 'cookie stickiness is not exported: it needs a traffic router (trafficRouting) in the Rollout' });
  if (release.notify.webhook !== null) warnings.push({ service, key: 'pipeline.release.notify.webhook', message: 'the webhook is not exported: configure Argo Rollouts notifications' });
  if (release.strategy === 'bluegreen') warnings.push({ service, key: 'pipeline.release.strategy', message: 'bluegreen is exported as canary steps: Argo’s blueGreen strategy needs an active and a preview Service' });
}

function headerNotes(input: KubernetesExportInput, names: Record<string, string>): string[] {
  const notes: string[] = [];
  const built = Object.keys(input.builtImages).filter((service) => input.model.services[service]).sort();
  if (built.length > 0) {
    notes.push(
      input.registry
        ? `Images built locally by envctl (${built.join(', ')}) carry content-hashed tags under ${input.registry}: they must be pushed there before applying (the comment above each workload has the command).`
        : `Images built locally by envctl (${built.join(', ')}) carry content-hashed tags that exist only on this machine: they must be pushed to a registry the cluster can pull from (name it with --registry).`,
    );
  }
  const published = Object.values(input.model.services).filter((service) => service.ports.length > 0).map((service) => names[service.name]!);
  if (published.length > 0) notes.push(`Published ports (${published.join(', ')}) become ClusterIP Services: expose them with an Ingress or a LoadBalancer (annotation ${ANNOTATION.publishedPorts}).`);
  notes.push('No namespace is set: apply with `kubectl apply -n NAMESPACE -f …` (one namespace per environment).');
  return notes;
}
