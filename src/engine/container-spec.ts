/**
 * From a service of the model to the ContainerSpec the engine creates: labels, engine names of
 * volumes and networks, the service name as a network alias. Pure.
 */
import { containerResources, fileGrantMounts } from '../definition/deploy.js';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { LABEL } from '../labels.js';
import { formatFieldHashes, mountSource, type ServiceHash } from '../plan/hash.js';
import type { ContainerSpec } from './types.js';

/** Docker's default grace period before SIGKILL, in seconds. */
export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

export function containerSpecFor(model: EnvironmentModel, service: ServiceModel, options: { name: string; image: string; hash: ServiceHash }): ContainerSpec {
  return {
    name: options.name,
    image: options.image,
    command: service.command,
    entrypoint: service.entrypoint,
    env: service.environment,
    labels: {
      ...service.labels,
      ...model.labels,
      [LABEL.project]: model.project,
      [LABEL.env]: model.env,
      [LABEL.service]: service.name,
      [LABEL.configHash]: options.hash.configHash,
      [LABEL.fieldHashes]: formatFieldHashes(options.hash.fields),
    },
    ports: service.ports,
    expose: service.expose,
    mounts: [
      ...service.mounts.map((mount) => ({
        ...mount,
        source: mountSource(mount, model),
      })),
      ...fileGrantMounts(service, model),
    ],
    networks: Object.entries(service.networks).map(([key, attach]) => ({
      name: model.networks[key]?.name ?? key,
      aliases: [...new Set([service.name, ...attach.aliases])],
    })),
    healthcheck: service.healthcheck,
    restart: service.restart,
    workingDir: service.workingDir,
    user: service.user,
    init: service.init,
    stopSignal: service.stopSignal,
    stopTimeoutSeconds: stopTimeoutSeconds(service),
    resources: containerResources(service),
  };
}

export function stopTimeoutSeconds(service: Pick<ServiceModel, 'stopGracePeriodMs'> | undefined): number {
  return service?.stopGracePeriodMs === undefined ? DEFAULT_STOP_TIMEOUT_SECONDS : Math.ceil(service.stopGracePeriodMs / 1000);
}
