/**
 * Desired stack × what the swarm holds (found by labels) → ordered actions with their reasons.
 * Pure. A service whose recorded field hashes differ is updated (swarm rolls its tasks with the
 * service's update_config), naming the fields; replicas and image show old and new values.
 */
import type { ObservedNetwork } from '../engine/types.js';
import { LABEL } from '../labels.js';
import { parseFieldHashes } from '../plan/hash.js';
import { changedSwarmFields, type DesiredStack, type SwarmField } from './spec.js';
import type { ObservedFileObject, ObservedSwarmService } from './types.js';

export interface ObservedStack {
  services: ObservedSwarmService[];
  networks: ObservedNetwork[];
  secrets: ObservedFileObject[];
  configs: ObservedFileObject[];
}

export type SwarmAction =
  | { kind: 'build'; subject: 'image'; name: string; service: string; reason: string }
  | { kind: 'create' | 'keep' | 'external'; subject: 'network'; name: string; key: string; reason: string }
  | { kind: 'orphan' | 'remove'; subject: 'network'; name: string; key: string; reason: string }
  | { kind: 'create' | 'keep'; subject: 'secret' | 'config'; name: string; key: string; reason: string }
  | { kind: 'prune'; subject: 'secret' | 'config'; name: string; id: string; reason: string }
  | { kind: 'create'; subject: 'service'; name: string; service: string; reason: string }
  | { kind: 'update'; subject: 'service'; name: string; service: string; id: string; changed: SwarmField[]; reason: string }
  | { kind: 'keep'; subject: 'service'; name: string; service: string; id: string; reason: string }
  | { kind: 'orphan' | 'remove'; subject: 'service'; name: string; service: string; id: string; reason: string };

export interface SwarmPlan {
  project: string;
  env: string;
  stack: string;
  actions: SwarmAction[];
  warnings: string[];
}

export function planSwarm(input: { project: string; env: string; desired: DesiredStack; observed: ObservedStack; removeOrphans: boolean }): SwarmPlan {
  const { desired, observed } = input;
  const actions: SwarmAction[] = [];

  const networksByKey = new Map(observed.networks.filter((network) => network.key).map((network) => [network.key!, network]));
  for (const network of desired.networks) {
    if (network.external) actions.push({ kind: 'external', subject: 'network', name: network.name, key: network.key, reason: 'external, not managed by envctl' });
    else if (networksByKey.has(network.key)) actions.push({ kind: 'keep', subject: 'network', name: network.name, key: network.key, reason: 'exists' });
    else actions.push({ kind: 'create', subject: 'network', name: network.name, key: network.key, reason: `new overlay network${network.internal ? ' (internal)' : ''}, attachable` });
  }

  for (const kind of ['secret', 'config'] as const) {
    const existing = kind === 'secret' ? observed.secrets : observed.configs;
    const names = new Set(existing.map((object) => object.name));
    const wanted = desired.files.filter((file) => file.kind === kind);
    for (const file of wanted) {
      const older = existing.some((object) => object.labels[kind === 'secret' ? LABEL.secret : LABEL.config] === file.key && object.name !== file.name);
      actions.push(
        names.has(file.name)
          ? { kind: 'keep', subject: kind, name: file.name, key: file.key, reason: 'same content' }
          : { kind: 'create', subject: kind, name: file.name, key: file.key, reason: older ? 'content changed (a new version; swarm never edits one in place)' : `new ${kind}` },
      );
    }
    const wantedNames = new Set(wanted.map((file) => file.name));
    for (const object of existing) {
      if (!wantedNames.has(object.name)) actions.push({ kind: 'prune', subject: kind, name: object.name, id: object.id, reason: 'no longer used (removed once no task uses it)' });
    }
  }

  // A release's canary, baseline and proxy (labelled with their slot) are the release's, not the definition's.
  const servicesByName = new Map(observed.services.filter((service) => !service.labels[LABEL.slot]).map((service) => [service.labels[LABEL.service] ?? service.name, service]));
  for (const service of desired.services) {
    const current = servicesByName.get(service.service);
    if (!current) {
      actions.push({ kind: 'create', subject: 'service', name: service.name, service: service.service, reason: `new service (${service.replicas === undefined ? 'global' : `${service.replicas} replica${service.replicas === 1 ? '' : 's'}`})` });
      continue;
    }
    if (current.labels[LABEL.configHash] === service.configHash) {
      actions.push({ kind: 'keep', subject: 'service', name: service.name, service: service.service, id: current.id, reason: 'unchanged' });
      continue;
    }
    const changed = changedSwarmFields(parseFieldHashes(current.labels[LABEL.fieldHashes]), service.fields);
    const described = changed.map((field) => {
      if (field === 'replicas') return `replicas ${current.replicas ?? 'global'} -> ${service.replicas ?? 'global'}`;
      if (field === 'image' && current.labels[LABEL.image] && current.labels[LABEL.image] !== service.image.display) return `image ${current.labels[LABEL.image]} -> ${service.image.display}`;
      return field;
    });
    actions.push({ kind: 'update', subject: 'service', name: service.name, service: service.service, id: current.id, changed, reason: changed.length > 0 ? `changed: ${described.join(', ')}` : 'config hash differs' });
  }

  const desiredServices = new Set(desired.services.map((service) => service.service));
  for (const [name, service] of servicesByName) {
    if (desiredServices.has(name)) continue;
    actions.push(
      input.removeOrphans
        ? { kind: 'remove', subject: 'service', name: service.name, service: name, id: service.id, reason: 'orphan: not in the definition' }
        : { kind: 'orphan', subject: 'service', name: service.name, service: name, id: service.id, reason: 'not in the definition (--remove-orphans removes it)' },
    );
  }
  const desiredNetworks = new Set(desired.networks.map((network) => network.key));
  for (const network of observed.networks) {
    if (!network.key || desiredNetworks.has(network.key)) continue;
    actions.push(
      input.removeOrphans
        ? { kind: 'remove', subject: 'network', name: network.name, key: network.key, reason: 'orphan: not in the definition' }
        : { kind: 'orphan', subject: 'network', name: network.name, key: network.key, reason: 'not in the definition (--remove-orphans removes it)' },
    );
  }
  return { project: input.project, env: input.env, stack: desired.stack, actions, warnings: desired.warnings };
}

export interface SwarmPlanSummary {
  create: number;
  update: number;
  keep: number;
  remove: number;
  orphan: number;
}

/** Counts of service actions. */
export function summariseSwarmPlan(plan: SwarmPlan): SwarmPlanSummary {
  const summary: SwarmPlanSummary = { create: 0, update: 0, keep: 0, remove: 0, orphan: 0 };
  for (const action of plan.actions) if (action.subject === 'service') summary[action.kind] += 1;
  return summary;
}

export function swarmPlanHasChanges(plan: SwarmPlan): boolean {
  return plan.actions.some((action) => !['keep', 'orphan', 'external'].includes(action.kind));
}

/** The plan as `envctl plan --target swarm` prints it; the oracle of the unit tests. */
export function renderSwarmPlanText(plan: SwarmPlan): string {
  const label = (action: SwarmAction) => (action.subject === 'service' ? action.service : `${action.subject} ${action.name}`);
  const width = Math.max(0, ...plan.actions.map((action) => label(action).length));
  const lines = [`plan for ${plan.project} (env ${plan.env}) on swarm, stack ${plan.stack}`];
  for (const action of plan.actions) lines.push(`  ${action.kind.padEnd(8)} ${label(action).padEnd(width)}  ${action.reason}`);
  for (const warning of plan.warnings) lines.push(`  warning: ${warning}`);
  const summary = summariseSwarmPlan(plan);
  const parts = Object.entries(summary)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} to ${kind === 'orphan' ? 'review (orphan)' : kind}`);
  lines.push(swarmPlanHasChanges(plan) ? `summary: ${parts.join(', ')}` : `summary: no changes${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
  return `${lines.join('\n')}\n`;
}
