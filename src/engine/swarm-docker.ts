/**
 * The SwarmEngine port on the Docker Engine API: services, tasks, overlay networks, secrets and
 * configs. Reads are plain JSON requests (engine-api.ts); writes and log streams use dockerode.
 * Services are created without registry credentials: with the image named by its local ID the
 * node never pulls (see swarm/deploy.ts).
 */
import type Docker from 'dockerode';
import { EnvironmentError, WorkFailedError } from '../errors.js';
import { LABEL } from '../labels.js';
import type { ObservedFileObject, ObservedSwarmService, ObservedTask, SwarmEngine, SwarmInfo, SwarmServiceSpec } from '../swarm/types.js';
import { getJson, type ApiEndpoint } from './engine-api.js';
import { bufferStream, CALL_TIMEOUT_MS, demuxLines, DockerEngine, isConnectionError, labelFilters, resolveDockerEndpoint, withTimeout, type DockerEndpoint } from './docker-engine.js';
import type { LogLine } from './types.js';

interface EngineService {
  ID: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  Endpoint?: { Ports?: Array<{ Protocol: string; TargetPort: number; PublishedPort: number; PublishMode: string }> };
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

interface EngineTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  DesiredState: string;
  CreatedAt: string;
  Spec: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status: { State: string; Timestamp: string; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

export class SwarmDockerEngine implements SwarmEngine {
  private client: Promise<Docker> | undefined;
  private readonly local: DockerEngine;

  constructor(private readonly endpoint: DockerEndpoint) {
    this.local = new DockerEngine(endpoint);
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>): SwarmDockerEngine {
    return new SwarmDockerEngine(resolveDockerEndpoint(env));
  }

  private docker(): Promise<Docker> {
    this.client ??= import('dockerode').then((module) => new module.default(this.endpoint.options));
    return this.client;
  }

  private get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    return getJson<T>(this.endpoint.options as ApiEndpoint, path, query);
  }

  async swarmInfo(): Promise<SwarmInfo> {
    const info = await this.call('read engine info', () => this.get<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } }>('/info'));
    return { state: info.Swarm?.LocalNodeState ?? 'inactive', isManager: info.Swarm?.ControlAvailable ?? false, nodeId: info.Swarm?.NodeID ?? '' };
  }

  async listServices(labels: Record<string, string>): Promise<ObservedSwarmService[]> {
    const list = await this.call('list services', () => this.get<EngineService[]>('/services', { filters: JSON.stringify({ label: labelFilters(labels) }) }));
    return list.map((service) => ({
      id: service.ID,
      name: service.Spec.Name,
      version: service.Version.Index,
      labels: service.Spec.Labels ?? {},
      spec: service.Spec,
      replicas: 'Replicated' in service.Spec.Mode ? service.Spec.Mode.Replicated.Replicas : undefined,
      updateState: service.UpdateStatus?.State,
      updateMessage: service.UpdateStatus?.Message,
      updateStartedAt: service.UpdateStatus?.StartedAt,
      ports: (service.Endpoint?.Ports ?? []).map((port) => ({ published: port.PublishedPort, target: port.TargetPort, protocol: port.Protocol, mode: port.PublishMode })),
    }));
  }

  async createService(spec: SwarmServiceSpec): Promise<string> {
    const docker = await this.docker();
    // `_body`/`_query`: docker-modem would otherwise also put the whole spec in the query string.
    const created = await this.call(`create service ${spec.Name}`, () => docker.createService({ _query: {}, _body: spec } as unknown as Docker.CreateServiceOptions));
    return (created as unknown as { id?: string; ID?: string }).id ?? (created as unknown as { ID: string }).ID;
  }

  async updateService(id: string, version: number, spec: SwarmServiceSpec): Promise<void> {
    const docker = await this.docker();
    await this.call(`update service ${spec.Name}`, () => docker.getService(id).update({ _query: { version }, _body: spec } as unknown as Record<string, unknown>));
  }

  async removeService(id: string): Promise<void> {
    const docker = await this.docker();
    await this.call(`remove service ${id.slice(0, 12)}`, () => docker.getService(id).remove().catch(ignore404));
  }

  async listTasks(serviceId: string): Promise<ObservedTask[]> {
    const list = await this.call('list tasks', () => this.get<EngineTask[]>('/tasks', { filters: JSON.stringify({ service: [serviceId] }) }));
    return list.map((task) => ({
      id: task.ID,
      serviceId: task.ServiceID,
      slot: task.Slot,
      desiredState: task.DesiredState,
      state: task.Status.State,
      error: task.Status.Err,
      message: task.Status.Message,
      createdAt: task.CreatedAt,
      stateAt: task.Status.Timestamp,
      taskHash: task.Spec.ContainerSpec?.Labels?.[LABEL.configHash],
      containerId: task.Status.ContainerStatus?.ContainerID,
    }));
  }

  async createOverlayNetwork(spec: { name: string; labels: Record<string, string>; internal: boolean; driverOpts: Record<string, string> }): Promise<void> {
    const docker = await this.docker();
    await this.call(`create network ${spec.name}`, () =>
      docker.createNetwork({ Name: spec.name, Driver: 'overlay', Attachable: true, Internal: spec.internal, Options: spec.driverOpts, Labels: spec.labels, CheckDuplicate: true }),
    );
  }

  listSecrets(labels: Record<string, string>): Promise<ObservedFileObject[]> {
    return this.listFileObjects('secrets', labels);
  }

  listConfigs(labels: Record<string, string>): Promise<ObservedFileObject[]> {
    return this.listFileObjects('configs', labels);
  }

  private async listFileObjects(kind: 'secrets' | 'configs', labels: Record<string, string>): Promise<ObservedFileObject[]> {
    const list = await this.call(`list ${kind}`, () => this.get<Array<{ ID: string; Spec: { Name: string; Labels?: Record<string, string> } }>>(`/${kind}`, { filters: JSON.stringify({ label: labelFilters(labels) }) }));
    return list.map((object) => ({ id: object.ID, name: object.Spec.Name, labels: object.Spec.Labels ?? {} }));
  }

  async createSecret(name: string, data: Buffer, labels: Record<string, string>): Promise<string> {
    const docker = await this.docker();
    const created = await this.call(`create secret ${name}`, () => docker.createSecret({ Name: name, Labels: labels, Data: data.toString('base64') }));
    return (created as unknown as { id: string }).id;
  }

  async createConfig(name: string, data: Buffer, labels: Record<string, string>): Promise<string> {
    const docker = await this.docker();
    const created = await this.call(`create config ${name}`, () => docker.createConfig({ Name: name, Labels: labels, Data: data.toString('base64') }));
    return (created as unknown as { id: string }).id;
  }

  async removeSecret(id: string): Promise<void> {
    const docker = await this.docker();
    await this.call(`remove secret ${id.slice(0, 12)}`, () => docker.getSecret(id).remove().catch(ignore404));
  }

  async removeConfig(id: string): Promise<void> {
    const docker = await this.docker();
    await this.call(`remove config ${id.slice(0, 12)}`, () => docker.getConfig(id).remove().catch(ignore404));
  }

  async serviceLogs(id: string, options: { tail?: number | undefined; since?: number; timestamps?: boolean }): Promise<LogLine[]> {
    const docker = await this.docker();
    const buffer = await this.call(`read logs of service ${id.slice(0, 12)}`, () =>
      docker.getService(id).logs({ stdout: true, stderr: true, follow: false, ...(options.tail !== undefined ? { tail: options.tail } : {}), since: options.since ?? 0, timestamps: options.timestamps ?? false }),
    );
    const lines: LogLine[] = [];
    for await (const line of demuxLines(bufferStream(buffer as unknown as Buffer), docker, options.timestamps ?? false)) lines.push(line);
    return lines;
  }

  async *followServiceLogs(id: string, options: { tail?: number | undefined; since?: number; timestamps?: boolean }, signal: AbortSignal): AsyncIterable<LogLine> {
    const docker = await this.docker();
    const stream = (await this.call(`follow logs of service ${id.slice(0, 12)}`, () =>
      docker.getService(id).logs({ stdout: true, stderr: true, follow: true, ...(options.tail !== undefined ? { tail: options.tail } : {}), since: options.since ?? 0, timestamps: options.timestamps ?? false, abortSignal: signal } as Docker.ContainerLogsOptions),
    )) as unknown as NodeJS.ReadableStream & { destroy?: () => void };
    const stop = () => stream.destroy?.();
    signal.addEventListener('abort', stop, { once: true });
    try {
      yield* demuxLines(stream as unknown as import('node:stream').Readable, docker, options.timestamps ?? false);
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  }

  async pushImage(localRef: string, registryRef: string, onLine: (line: string) => void): Promise<void> {
    const docker = await this.docker();
    const colon = registryRef.lastIndexOf(':');
    const [repo, tag] = colon > registryRef.lastIndexOf('/') ? [registryRef.slice(0, colon), registryRef.slice(colon + 1)] : [registryRef, 'latest'];
    await this.call(`tag ${localRef} as ${registryRef}`, () => docker.getImage(localRef).tag({ repo, tag }));
    // An empty credential: the engine wants the header; registries that need a login are not supported yet.
    const stream = await this.call(`push ${registryRef}`, () => docker.getImage(registryRef).push({ authconfig: {} } as unknown as Record<string, unknown>), 10 * 60_000);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: { status?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.status) onLine(event.status);
          if (event.error) reject(new Error(event.errorDetail?.message ?? event.error));
        },
      );
    }).catch((error: unknown) => {
      throw new WorkFailedError('PUSH_FAILED', `pushing ${registryRef} failed: ${error instanceof Error ? error.message : String(error)}`, 'check that the registry is reachable from this machine and accepts pushes without a login (credentials are not supported yet)');
    });
  }

  private async call<T>(operation: string, run: () => Promise<T>, timeoutMs = this.endpoint.callTimeoutMs ?? CALL_TIMEOUT_MS): Promise<T> {
    try {
      return await withTimeout(run(), timeoutMs, operation);
    } catch (error) {
      if (isConnectionError(error)) throw this.local.unreachable(error);
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 503) throw new EnvironmentError('NOT_A_SWARM', `the Docker engine is not a swarm manager (${operation})`, 'run `docker swarm init` (one machine: `docker swarm init --advertise-addr 127.0.0.1`) or point DOCKER_HOST at a manager', error);
      throw new WorkFailedError('ENGINE_CALL_FAILED', `the Docker engine failed to ${operation}: ${error instanceof Error ? error.message : String(error)}`, undefined, error);
    }
  }
}

function ignore404(error: unknown): undefined {
  if ((error as { statusCode?: number }).statusCode === 404) return undefined;
  throw error;
}
