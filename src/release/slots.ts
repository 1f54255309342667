/**
 * The release's containers next to the service's own (canary.md §3.1): `canary` (new image) and a
 * fresh `baseline` (current image), started together from the service's definition, on its
 * networks but without its network alias (so the service's name keeps resolving to production
 * only) and without published ports (the proxy is the way in). Labelled with the slot and the
 * release id, so `up` leaves them alone and `down` removes them.
 */
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { EnvironmentError } from '../errors.js';
import { containerSpecFor } from '../engine/container-spec.js';
import type { Engine } from '../engine/engine.js';
import type { ContainerSpec, ContainerStatus } from '../engine/types.js';
import { LABEL } from '../labels.js';
import { hashService } from '../plan/hash.js';
import { containerNameFor } from '../plan/plan.js';
import type { ContainerHealth } from './analysis/snapshot.js';

export type Slot = 'canary' | 'baseline' | 'proxy';

/** `<project>-<service>-<slot>-<4 hex of the release id>`. */
export function slotContainerName(model: Pick<EnvironmentModel, 'prefix'>, service: string, slot: Slot, releaseId: string): string {
  return `${containerNameFor(model, service)}-${slot}-${releaseId.slice(-4)}`;
}

export function slotLabels(model: Pick<EnvironmentModel, 'project' | 'env' | 'labels'>, service: string, slot: Slot, releaseId: string): Record<string, string> {
  return { ...model.labels, [LABEL.project]: model.project, [LABEL.env]: model.env, [LABEL.service]: service, [LABEL.slot]: slot, [LABEL.release]: releaseId };
}

export function slotSpec(model: EnvironmentModel, service: ServiceModel, slot: 'canary' | 'baseline', image: string, releaseId: string): ContainerSpec {
  const name = slotContainerName(model, service.name, slot, releaseId);
  const spec = containerSpecFor(model, service, { name, image, hash: hashService(service, image, model) });
  return {
    ...spec,
    labels: { ...spec.labels, ...slotLabels(model, service.name, slot, releaseId) },
    ports: [],
    networks: spec.networks.map((network) => ({ name: network.name, aliases: [] })),
    // A crashed canary stays down: the guardrail sees it exit instead of a restart loop hiding it.
    restart: 'no',
  };
}

/** The engine's view of a container as the judge reads it. */
export function healthOf(status: Pick<ContainerStatus, 'state' | 'health'>): ContainerHealth {
  if (status.state !== 'running') return status.state === 'created' ? 'starting' : 'exited';
  return status.health ?? 'running';
}

/** How long a started container must keep running without a healthcheck to count as up (ms). */
const RUNNING_GRACE_MS = 1000;
const POLL_MS = 250;

/**
 * Waits until the container is healthy (or, without a healthcheck, has kept running for a second).
 * Throws EnvironmentError naming the container when it exits, turns unhealthy or is not ready in time.
 */
export async function waitReady(engine: Engine, id: string, name: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let runningSince: number | undefined;
  for (;;) {
    signal.throwIfAborted();
    const status = await engine.inspectContainer(id);
    if (status.state === 'exited' || status.state === 'dead' || status.health === 'unhealthy') {
      const detail = status.health === 'unhealthy' ? `unhealthy${status.healthOutput ? `: ${status.healthOutput.trim().slice(0, 200)}` : ''}` : `exited with code ${status.exitCode}`;
      throw new EnvironmentError('RELEASE_CONTAINER_FAILED', `release container ${name} ${detail}`, `see its output: docker logs ${name}`);
    }
    if (status.state === 'running') {
      if (status.health === 'healthy') return;
      if (status.health === undefined) {
        runningSince ??= Date.now();
        if (Date.now() - runningSince >= RUNNING_GRACE_MS) return;
      }
    }
    if (Date.now() > deadline) {
      throw new EnvironmentError('RELEASE_CONTAINER_TIMEOUT', `release container ${name} was not ready within ${Math.round(timeoutMs / 1000)} s (${status.state}${status.health ? `, ${status.health}` : ''})`, `see its output: docker logs ${name}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Stops and removes a release container; a missing one is fine. */
export async function removeSlot(engine: Engine, id: string): Promise<void> {
  await engine.stopContainer(id, 5).catch(() => undefined);
  await engine.removeContainer(id);
}
