/**
 * A CheckContext over what the engine reports for one environment: the containers found by its
 * labels (`Engine.listContainers`), with the host ports the engine published.
 */
import type { Engine } from '../engine/engine.js';
import type { ObservedContainer } from '../engine/types.js';
import type { CheckContext } from './types.js';

export interface CheckContextOptions {
  engine: Engine;
  /** The environment's containers (running or not), e.g. from `engine.listContainers(environmentLabels(…))`. */
  containers: readonly ObservedContainer[];
  /** Container ports per service in definition order, so "its first published port" means the first declared; without it, the lowest. */
  declaredPorts?: Readonly<Record<string, readonly number[]>>;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

export function checkContextFor(options: CheckContextOptions): CheckContext {
  const running = (service: string) => options.containers.find((container) => container.service === service && container.state === 'running');
  return {
    engine: options.engine,
    now: options.now,
    sleep: options.sleep,
    signal: options.signal,
    containerOf: (service) => running(service)?.id,
    publishedAddress: (service, containerPort) => {
      const container = running(service);
      if (!container) return undefined;
      const declared = options.declaredPorts?.[service] ?? [];
      const rank = (target: number) => (declared.includes(target) ? declared.indexOf(target) : declared.length + target);
      const candidates = container.ports
        .filter((port) => port.protocol === 'tcp' && (containerPort === undefined || port.target === containerPort))
        // The first port; for one port published on both families, IPv4 first.
        .sort((a, b) => rank(a.target) - rank(b.target) || Number(a.hostIp.includes(':')) - Number(b.hostIp.includes(':')));
      const chosen = candidates[0];
      return chosen ? { host: chosen.hostIp, port: chosen.published } : undefined;
    },
  };
}
