/**
 * The swarm target in envctl's own types: the subset of the Engine API's ServiceSpec envctl writes,
 * what it reads back (services, tasks, secrets, configs), and the port the swarm code asks of an
 * engine. No dockerode types leak past `engine/swarm-docker.ts`.
 */
import type { LogLine } from '../engine/types.js';

/** Durations in the Engine API are nanoseconds. */
export type Nanoseconds = number;

export interface SwarmUpdateConfig {
  Parallelism: number;
  Delay: Nanoseconds;
  FailureAction: string;
  Monitor: Nanoseconds;
  MaxFailureRatio: number;
  Order: string;
}

export interface SwarmFileReference {
  File: { Name: string; UID: string; GID: string; Mode: number };
  SecretID?: string;
  SecretName?: string;
  ConfigID?: string;
  ConfigName?: string;
}

/** The ServiceSpec envctl sends (Engine API 1.41, the fields it sets). */
export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Env: string[];
      Dir?: string;
      User?: string;
      Init: boolean;
      StopSignal?: string;
      StopGracePeriod?: Nanoseconds;
      Healthcheck?: { Test: string[]; Interval?: Nanoseconds; Timeout?: Nanoseconds; Retries?: number; StartPeriod?: Nanoseconds };
      Mounts: Array<{
        Type: 'volume' | 'bind' | 'tmpfs';
        Source?: string;
        Target: string;
        ReadOnly: boolean;
        VolumeOptions?: { Labels: Record<string, string>; DriverConfig?: { Name: string; Options: Record<string, string> } };
        TmpfsOptions?: { SizeBytes: number };
      }>;
      Secrets: SwarmFileReference[];
      Configs: SwarmFileReference[];
    };
    Resources: { Limits: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations: { NanoCPUs?: number; MemoryBytes?: number } };
    RestartPolicy: { Condition: string; Delay?: Nanoseconds; MaxAttempts?: number; Window?: Nanoseconds };
    Placement: { Constraints: string[]; Preferences: Array<{ Spread: { SpreadDescriptor: string } }>; MaxReplicas?: number };
    Networks: Array<{ Target: string; Aliases: string[] }>;
    ForceUpdate: number;
  };
  Mode: { Replicated: { Replicas: number } } | { Global: Record<string, never> };
  UpdateConfig?: SwarmUpdateConfig;
  RollbackConfig?: SwarmUpdateConfig;
  EndpointSpec: { Mode: 'vip' | 'dnsrr'; Ports: Array<{ Protocol: 'tcp' | 'udp'; TargetPort: number; PublishedPort?: number; PublishMode: 'ingress' | 'host' }> };
}

export interface ObservedSwarmService {
  id: string;
  name: string;
  /** The object version, needed to update the service. */
  version: number;
  /** The service's labels (not its tasks'). */
  labels: Record<string, string>;
  spec: SwarmServiceSpec;
  /** Desired replicas; undefined for global services. */
  replicas: number | undefined;
  /** `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused`, `rollback_completed`; absent before the first update. */
  updateState: string | undefined;
  updateMessage: string | undefined;
  /** When the update in `updateState` began (ISO, engine clock): tells a new update from the last one's leftover state. */
  updateStartedAt: string | undefined;
  /** Published ports as the engine reports them. */
  ports: Array<{ published: number; target: number; protocol: string; mode: string }>;
}

export interface ObservedTask {
  id: string;
  serviceId: string;
  slot: number | undefined;
  desiredState: string;
  /** `new`, `pending`, `preparing`, `starting`, `running`, `complete`, `failed`, `shutdown`, `rejected`, `orphaned`, `remove`. */
  state: string;
  error: string | undefined;
  message: string | undefined;
  /** ISO times from the engine. */
  createdAt: string;
  stateAt: string;
  /** The task hash label its container spec was created with. */
  taskHash: string | undefined;
  containerId: string | undefined;
}

export interface ObservedFileObject {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface SwarmInfo {
  /** `inactive`, `pending`, `active`, `error`, `locked`. */
  state: string;
  isManager: boolean;
  nodeId: string;
}

/** What the swarm code asks of an engine (one real adapter: engine/swarm-docker.ts). */
export interface SwarmEngine {
  swarmInfo(): Promise<SwarmInfo>;
  listServices(labels: Record<string, string>): Promise<ObservedSwarmService[]>;
  createService(spec: SwarmServiceSpec): Promise<string>;
  updateService(id: string, version: number, spec: SwarmServiceSpec): Promise<void>;
  removeService(id: string): Promise<void>;
  listTasks(serviceId: string): Promise<ObservedTask[]>;
  createOverlayNetwork(spec: { name: string; labels: Record<string, string>; internal: boolean; driverOpts: Record<string, string> }): Promise<void>;
  listSecrets(labels: Record<string, string>): Promise<ObservedFileObject[]>;
  listConfigs(labels: Record<string, string>): Promise<ObservedFileObject[]>;
  createSecret(name: string, data: Buffer, labels: Record<string, string>): Promise<string>;
  createConfig(name: string, data: Buffer, labels: Record<string, string>): Promise<string>;
  removeSecret(id: string): Promise<void>;
  removeConfig(id: string): Promise<void>;
  serviceLogs(id: string, options: { tail?: number | undefined; since?: number; timestamps?: boolean }): Promise<LogLine[]>;
  followServiceLogs(id: string, options: { tail?: number | undefined; since?: number; timestamps?: boolean }, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Tags a local image for a registry and pushes it; resolves with the pushed reference. */
  pushImage(localRef: string, registryRef: string, onLine: (line: string) => void): Promise<void>;
}
