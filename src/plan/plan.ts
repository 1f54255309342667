/**
 * Desired model × observed engine state → ordered actions, each with its reason. Pure: no I/O,
 * no clock. The text form (`renderPlanText`) is what `envctl plan` prints and what the unit tests
 * assert on; the executor walks the same actions without making decisions of its own.
 */
import { builtImageRef } from '../definition/build-inputs.js';
import { ignoredLocally } from '../definition/deploy.js';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import type { ObservedContainer, ObservedState } from '../engine/types.js';
import { LABEL } from '../labels.js';
import { changedFields, hashService, parseFieldHashes, resourceConfigHash, type HashedField, type ServiceHash } from './hash.js';

export type PlanAction =
  | { kind: 'build'; subject: 'image'; name: string; service: string; image: string; reason: string }
  | { kind: 'create' | 'keep'; subject: 'network' | 'volume'; name: string; key: string; reason: string }
  | { kind: 'external'; subject: 'network' | 'volume'; name: string; key: string; reason: string }
  | ServiceAction
  | { kind: 'orphan' | 'remove'; subject: 'network' | 'volume'; name: string; key: string; reason: string };

export interface ServiceActionBase {
  subject: 'service';
  name: string;
  /** Container name envctl gives the service. */
  containerName: string;
  image: string;
  hash: ServiceHash;
  /** Services this one waits for (from depends_on), so the executor can order and gate. */
  after: string[];
  reason: string;
}

export type ServiceAction =
  | (ServiceActionBase & { kind: 'create' })
  | (ServiceActionBase & { kind: 'recreate'; containerId: string; changed: HashedField[] })
  | (ServiceActionBase & { kind: 'start' | 'keep'; containerId: string })
  | { kind: 'orphan' | 'remove'; subject: 'service'; name: string; containerId: string; containerName: string; reason: string }
  | { kind: 'remove-stale'; subject: 'service'; name: string; containerId: string; containerName: string; reason: string };

export interface Plan {
  project: string;
  env: string;
  actions: PlanAction[];
  warnings: string[];
}

export interface PlanInput {
  model: EnvironmentModel;
  observed: ObservedState;
  /** Input digests of built services (`sha256:…`), by service name. */
  buildDigests: Readonly<Record<string, string>>;
  removeOrphans: boolean;
  /** Planning without an engine: nothing is known to exist, so nothing is warned about images. */
  offline?: boolean;
}

export function containerNameFor(model: Pick<EnvironmentModel, 'prefix'>, service: string): string {
  return `${model.prefix}-${service}`;
}

/** The image a service's container is created from: its content-addressed build tag, or `image:`. */
export function desiredImage(model: EnvironmentModel, service: ServiceModel, buildDigests: Readonly<Record<string, string>>): string {
  if (service.build) {
    const digest = buildDigests[service.name];
    if (!digest) throw new Error(`bug: no build digest for service ${service.name}`);
    return builtImageRef(model.imageProject, service.name, digest);
  }
  return service.image!;
}

export function planEnvironment({ model, observed, buildDigests, removeOrphans, offline = false }: PlanInput): Plan {
  const actions: PlanAction[] = [];
  const warnings: string[] = [];

  for (const service of Object.values(model.services)) {
    if (!service.build) continue;
    const image = desiredImage(model, service, buildDigests);
    if (!observed.images.has(image)) {
      actions.push({ kind: 'build', subject: 'image', name: image, service: service.name, image, reason: offline ? 'offline: assumed not built yet' : `build inputs changed (no image ${image})` });
    }
  }

  const observedNetworks = new Map(observed.networks.filter((network) => network.key).map((network) => [network.key!, network]));
  for (const network of Object.values(model.networks)) {
    if (network.external) actions.push({ kind: 'external', subject: 'network', name: network.name, key: network.key, reason: 'external, not managed by envctl' });
    else if (observedNetworks.has(network.key)) actions.push({ kind: 'keep', subject: 'network', name: network.name, key: network.key, reason: keptReason(observedNetworks.get(network.key)!.labels, resourceConfigHash(network), warnings, `network ${network.name}`, '`envctl down` and `up` recreate it') });
    else actions.push({ kind: 'create', subject: 'network', name: network.name, key: network.key, reason: 'new network' });
  }
  const observedVolumes = new Map(observed.volumes.filter((volume) => volume.key).map((volume) => [volume.key!, volume]));
  for (const volume of Object.values(model.volumes)) {
    if (volume.external) actions.push({ kind: 'external', subject: 'volume', name: volume.name, key: volume.key, reason: 'external, not managed by envctl' });
    else if (observedVolumes.has(volume.key)) actions.push({ kind: 'keep', subject: 'volume', name: volume.name, key: volume.key, reason: keptReason(observedVolumes.get(volume.key)!.labels, resourceConfigHash(volume), warnings, `volume ${volume.name}`, 'its data is kept; `envctl down --volumes` and `up` recreate it empty') });
    else actions.push({ kind: 'create', subject: 'volume', name: volume.name, key: volume.key, reason: 'new volume' });
  }

  // Release containers (canary, baseline, proxy) are the release controller's, not the plan's.
  const byService = groupBy(observed.containers.filter((container) => !container.labels[LABEL.slot]), (container) => container.service);
  for (const name of dependencyOrder(model)) {
    const service = model.services[name]!;
    const image = desiredImage(model, service, buildDigests);
    const hash = hashService(service, image, model);
    const containerName = containerNameFor(model, name);
    const base = { subject: 'service' as const, name, containerName, image, hash, after: Object.keys(service.dependsOn).filter((dependency) => dependency in model.services) };
    if (!offline && !service.build && !observed.images.has(image)) warnings.push(`service "${name}": image ${image} is not present in the engine`);
    warnings.push(...ignoredLocally(service));

    const containers = byService.get(name) ?? [];
    const primary = containers.find((container) => container.name === containerName);
    for (const stale of containers.filter((container) => container !== primary)) {
      actions.push({ kind: 'remove-stale', subject: 'service', name, containerId: stale.id, containerName: stale.name, reason: `stray container ${stale.name} (left by an interrupted run)` });
    }
    if (!primary) {
      actions.push({ ...base, kind: 'create', reason: 'new service' });
      continue;
    }
    const changed = primary.labels[LABEL.configHash] === hash.configHash ? [] : changedFields(parseFieldHashes(primary.labels[LABEL.fieldHashes]), hash.fields);
    if (changed.length > 0) {
      actions.push({ ...base, kind: 'recreate', containerId: primary.id, changed, reason: `changed: ${changed.join(', ')}` });
    } else if (primary.labels[LABEL.configHash] !== hash.configHash) {
      actions.push({ ...base, kind: 'recreate', containerId: primary.id, changed: [], reason: 'config hash differs' });
    } else if (primary.state === 'dead' || primary.state === 'removing') {
      actions.push({ ...base, kind: 'recreate', containerId: primary.id, changed: [], reason: `container is ${primary.state}` });
    } else if (primary.state !== 'running') {
      actions.push({ ...base, kind: 'start', containerId: primary.id, reason: `container is ${primary.state}` });
    } else {
      actions.push({ ...base, kind: 'keep', containerId: primary.id, reason: 'unchanged' });
    }
  }

  for (const [name, containers] of byService) {
    if (name in model.services || model.declaredServices.includes(name)) continue;
    for (const container of containers) {
      actions.push(
        removeOrphans
          ? { kind: 'remove', subject: 'service', name, containerId: container.id, containerName: container.name, reason: 'orphan: not in the definition' }
          : { kind: 'orphan', subject: 'service', name, containerId: container.id, containerName: container.name, reason: 'not in the definition (--remove-orphans removes it)' },
      );
    }
  }
  for (const network of observed.networks) {
    if (!network.key || network.key in model.networks) continue;
    actions.push(
      removeOrphans
        ? { kind: 'remove', subject: 'network', name: network.name, key: network.key, reason: 'orphan: not in the definition' }
        : { kind: 'orphan', subject: 'network', name: network.name, key: network.key, reason: 'not in the definition (--remove-orphans removes it)' },
    );
  }
  for (const volume of observed.volumes) {
    if (!volume.key || volume.key in model.volumes) continue;
    // Data is never removed by a plan: only `down --volumes` deletes volumes.
    actions.push({ kind: 'orphan', subject: 'volume', name: volume.name, key: volume.key, reason: 'not in the definition (kept: `envctl down --volumes` removes it)' });
  }
  return { project: model.project, env: model.env, actions, warnings };
}

/**
 * Networks and volumes are never recreated by a plan (containers use them; volumes hold data): a
 * changed configuration is kept, and said so.
 */
function keptReason(labels: Record<string, string>, desired: string, warnings: string[], what: string, remedy: string): string {
  const recorded = labels[LABEL.configHash];
  if (recorded === undefined || recorded === desired) return 'exists';
  warnings.push(`${what}: its configuration changed in the definition; ${remedy}`);
  return 'exists (configuration changed, kept)';
}

/** Services in dependency order (dependencies first), ties in definition order. Cycles were rejected at validation. */
export function dependencyOrder(model: Pick<EnvironmentModel, 'services'>): string[] {
  const names = Object.keys(model.services);
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    const ready = names.find((name) => !done.has(name) && Object.keys(model.services[name]!.dependsOn).every((dependency) => done.has(dependency) || !(dependency in model.services)));
    if (!ready) throw new Error('bug: dependency cycle reached the planner');
    done.add(ready);
    order.push(ready);
  }
  return order;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

export interface PlanSummary {
  build: number;
  create: number;
  recreate: number;
  start: number;
  keep: number;
  remove: number;
  orphan: number;
}

export function summarisePlan(plan: Plan): PlanSummary {
  const summary: PlanSummary = { build: 0, create: 0, recreate: 0, start: 0, keep: 0, remove: 0, orphan: 0 };
  for (const action of plan.actions) {
    if (action.kind === 'build') summary.build += 1;
    else if (action.subject !== 'service') continue;
    else if (action.kind === 'remove-stale' || action.kind === 'remove') summary.remove += 1;
    else summary[action.kind] += 1;
  }
  return summary;
}

/** Whether executing the plan would change anything in the engine. */
export function planHasChanges(plan: Plan): boolean {
  return plan.actions.some((action) => !['keep', 'orphan', 'external'].includes(action.kind));
}

/** The plan as `envctl plan` prints it; also the oracle of the planner's unit tests. */
export function renderPlanText(plan: Plan): string {
  const label = (action: PlanAction) => (action.subject === 'service' ? action.name : `${action.subject} ${action.name}`);
  const width = Math.max(0, ...plan.actions.map((action) => label(action).length));
  const lines = [`plan for ${plan.project} (env ${plan.env})`];
  for (const action of plan.actions) lines.push(`  ${action.kind.padEnd(12)} ${label(action).padEnd(width)}  ${action.reason}`);
  for (const warning of plan.warnings) lines.push(`  warning: ${warning}`);
  const summary = summarisePlan(plan);
  const parts = Object.entries(summary)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} to ${kind === 'keep' ? 'keep' : kind === 'orphan' ? 'review (orphan)' : kind}`);
  lines.push(planHasChanges(plan) ? `summary: ${parts.join(', ')}` : `summary: no changes${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
  return `${lines.join('\n')}\n`;
}

export type { ObservedContainer };
