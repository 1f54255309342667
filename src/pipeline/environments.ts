/**
 * The environments a pipeline provisions: ephemeral ones for integration and perf (own project
 * name with the run id, own network and volumes, host ports chosen by the engine so nothing clashes
 * with a running `envctl up`), and the long-lived staging one.
 */
import type { EnvironmentModel } from '../definition/model.js';
import type { EventSink } from '../events.js';
import { environmentLabels, LABEL } from '../labels.js';
import { downEnvironment } from '../engine/down.js';
import type { Engine } from '../engine/engine.js';
import { executePlan, type ExecuteResult } from '../engine/execute-plan.js';
import type { ObservedContainer } from '../engine/types.js';
import { planAgainstEngine } from '../plan/prepare-plan.js';

/**
 * The same services under another project name, every published port moved to an engine-chosen
 * host port on the same address (declared host ports belong to the developer's `up`).
 */
export function deriveEnvironment(model: EnvironmentModel, options: { project: string; labels?: Record<string, string> }): EnvironmentModel {
  const prefix = model.env === 'default' ? options.project : `${options.project}-${model.env}`;
  // A volume or network with an explicit `name:` would be shared: pipelines always get their own.
  const rename = <T extends { key: string; name: string; external: boolean }>(items: Record<string, T>) =>
    Object.fromEntries(Object.entries(items).map(([key, item]) => [key, item.external ? item : { ...item, name: `${prefix}_${item.key}` }]));
  const services = Object.fromEntries(
    Object.entries(model.services).map(([name, service]) => [name, { ...service, ports: service.ports.map((port) => ({ ...port, published: undefined })) }]),
  );
  return {
    ...model,
    project: options.project,
    prefix,
    services,
    volumes: rename(model.volumes),
    networks: rename(model.networks),
    labels: { ...model.labels, ...options.labels },
  };
}

export interface Provisioned {
  model: EnvironmentModel;
  result: ExecuteResult;
  containers: ObservedContainer[];
}

/** Plans and converges an environment, then reads back what runs (ports the engine chose). */
export async function provision(model: EnvironmentModel, options: { engine: Engine; emit: EventSink; signal: AbortSignal; waitTimeoutMs: number; now: () => number; sleep: (ms: number, signal: AbortSignal) => Promise<void> }): Promise<Provisioned> {
  const prepared = await planAgainstEngine(model, options.engine, false);
  options.emit({ type: 'operation', at: 0, operation: 'up', project: model.project, env: model.env, services: Object.keys(model.services) });
  const result = await executePlan({ engine: options.engine, model, plan: prepared.plan, emit: options.emit, signal: options.signal, waitTimeoutMs: options.waitTimeoutMs, now: options.now, sleep: options.sleep });
  const containers = await options.engine.listContainers(environmentLabels(model.project, model.env));
  return { model, result, containers };
}

export async function teardown(model: EnvironmentModel, engine: Engine, emit: EventSink, now: () => number): Promise<void> {
  await downEnvironment({ model, engine, volumes: true, emit, now });
}

/**
 * How tests reach the services: for each service with a published port, `ENVCTL_URL_<SERVICE>`
 * (first port), `ENVCTL_URL_<SERVICE>_<PORT>`, `ENVCTL_HOST_<SERVICE>` and `ENVCTL_PORT_<SERVICE>`;
 * plus `ENVCTL_PROJECT`.
 */
export function serviceUrls(model: EnvironmentModel, containers: readonly ObservedContainer[]): Record<string, string> {
  const env: Record<string, string> = { ENVCTL_PROJECT: model.project };
  for (const container of containers) {
    const key = container.labels[LABEL.service]?.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    if (!key) continue;
    const tcp = container.ports.filter((port) => port.protocol === 'tcp').sort((a, b) => a.target - b.target);
    const declared = model.services[container.service]?.ports.map((port) => port.target) ?? [];
    const ordered = [...tcp].sort((a, b) => declared.indexOf(a.target) - declared.indexOf(b.target));
    for (const [index, port] of ordered.entries()) {
      const host = port.hostIp === '0.0.0.0' || port.hostIp === '' ? '127.0.0.1' : port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp;
      const url = `http://${host}:${port.published}`;
      env[`ENVCTL_URL_${key}_${port.target}`] = url;
      if (index === 0) {
        env[`ENVCTL_URL_${key}`] = url;
        env[`ENVCTL_HOST_${key}`] = host.replace(/^\[|\]$/g, '');
        env[`ENVCTL_PORT_${key}`] = String(port.published);
      }
    }
  }
  return env;
}
