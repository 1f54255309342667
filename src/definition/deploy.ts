/**
 * What the local target (one container per service) makes of `deploy:`, `secrets:` and `configs:`:
 * secrets and configs become read-only bind mounts of their files (as Compose does locally),
 * resource limits apply to the container, and everything else is named as ignored. Pure.
 */
import type { EnvironmentModel, ServiceModel } from './model.js';

/** Container resources from `deploy.resources` (undefined: none set). */
export interface ContainerResources {
  nanoCpus: number | undefined;
  memoryBytes: number | undefined;
  memoryReservationBytes: number | undefined;
  pidsLimit: number | undefined;
}

export function containerResources(service: Pick<ServiceModel, 'deploy'>): ContainerResources | undefined {
  const resources = service.deploy?.resources;
  if (!resources) return undefined;
  const out = {
    nanoCpus: resources.limits.nanoCpus,
    memoryBytes: resources.limits.memoryBytes,
    memoryReservationBytes: resources.reservations.memoryBytes,
    pidsLimit: resources.limits.pids,
  };
  return Object.values(out).some((value) => value !== undefined) ? out : undefined;
}

/** The secrets and configs of a service as read-only bind mounts of their files (the local target). */
export function fileGrantMounts(service: Pick<ServiceModel, 'secrets' | 'configs'>, model: Pick<EnvironmentModel, 'secrets' | 'configs'>): Array<{ type: 'bind'; source: string; target: string; readOnly: true }> {
  const mounts: Array<{ type: 'bind'; source: string; target: string; readOnly: true }> = [];
  for (const kind of ['secrets', 'configs'] as const) {
    for (const grant of service[kind] ?? []) {
      const object = model[kind]?.[grant.source];
      if (object) mounts.push({ type: 'bind', source: object.file, target: grant.target, readOnly: true });
    }
  }
  return mounts;
}

/** What local `up` does not apply, one warning per service (empty when nothing is ignored). */
export function ignoredLocally(service: ServiceModel): string[] {
  const deploy = service.deploy;
  const ignored: string[] = [];
  if (deploy) {
    if (deploy.mode === 'global') ignored.push('mode: global');
    if (deploy.replicas !== undefined && deploy.replicas !== 1) ignored.push(`replicas: ${deploy.replicas} (one container locally)`);
    if (deploy.updateConfig) ignored.push('update_config');
    if (deploy.rollbackConfig) ignored.push('rollback_config');
    if (deploy.restartPolicy) ignored.push('restart_policy (use `restart:` locally)');
    if (deploy.placement.constraints.length > 0 || deploy.placement.preferences.length > 0 || deploy.placement.maxReplicasPerNode !== undefined) ignored.push('placement');
    if (deploy.endpointMode) ignored.push('endpoint_mode');
    if (Object.keys(deploy.labels).length > 0) ignored.push('labels');
    if (deploy.resources.reservations.nanoCpus !== undefined) ignored.push('resources.reservations.cpus');
  }
  const owned = [...(service.secrets ?? []), ...(service.configs ?? [])].some((grant) => grant.uid !== undefined || grant.gid !== undefined || grant.mode !== undefined);
  if (owned) ignored.push('uid/gid/mode of secrets and configs (the file is bind-mounted as it is)');
  if (ignored.length === 0) return [];
  return [`service "${service.name}": deploy settings ignored by the local target: ${ignored.join(', ')}; \`--target swarm\` applies them`];
}
