/**
 * envctl's own view of engine objects: what the planner reads and the Engine port returns.
 * No dockerode types leak past `engine/docker-engine.ts`.
 */

export type ContainerState = 'created' | 'running' | 'restarting' | 'paused' | 'exited' | 'removing' | 'dead';

export interface ObservedContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  service: string;
  state: ContainerState;
  /** `healthy` / `unhealthy` / `starting` when the container has a healthcheck. */
  health: string | undefined;
  image: string;
  /** The ID (`sha256:…`) of the image the container was created from; absent when not reported. */
  imageId?: string | undefined;
  labels: Record<string, string>;
  /** Seconds since the epoch, as the engine reports it. */
  created: number;
  /** Published ports as the engine reports them. */
  ports: Array<{ hostIp: string; published: number; target: number; protocol: string }>;
}

export interface ObservedNetwork {
  id: string;
  name: string;
  /** The definition key (label), when envctl created it. */
  key: string | undefined;
  labels: Record<string, string>;
}

export interface ObservedVolume {
  name: string;
  key: string | undefined;
  labels: Record<string, string>;
}

/** Everything the engine holds for one environment (found by labels), plus which images exist. */
export interface ObservedState {
  containers: ObservedContainer[];
  networks: ObservedNetwork[];
  volumes: ObservedVolume[];
  /** Image references that exist locally, among those the plan asked about. */
  images: ReadonlySet<string>;
}

export const EMPTY_OBSERVED_STATE: ObservedState = { containers: [], networks: [], volumes: [], images: new Set() };

export interface EngineInfo {
  /** Engine version, e.g. `20.10.24+dfsg1`. */
  version: string;
  apiVersion: string;
  /** The engine's OS (`linux`). */
  os: string;
  /** Its architecture (`amd64`): only when `/version` was asked (`ping({ detail: true })`, engines other than Docker). */
  arch?: string | undefined;
  endpoint: string;
}

/** Everything a container is created from, in envctl's terms (the adapter maps it to the engine). */
export interface ContainerSpec {
  name: string;
  image: string;
  command: string[] | undefined;
  entrypoint: string[] | undefined;
  env: Record<string, string>;
  labels: Record<string, string>;
  ports: Array<{ target: number; published: number | undefined; hostIp: string; protocol: 'tcp' | 'udp' }>;
  expose: string[];
  mounts: Array<{ type: 'volume' | 'bind' | 'tmpfs'; source: string | undefined; target: string; readOnly: boolean; tmpfsSize?: number | undefined }>;
  /** Engine network name → aliases (the service name is always one). The first is attached at create. */
  networks: Array<{ name: string; aliases: string[] }>;
  healthcheck:
    | { disabled: true }
    | { disabled: false; test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number; startIntervalMs: number }
    | undefined;
  restart: string;
  workingDir: string | undefined;
  user: string | undefined;
  init: boolean;
  stopSignal: string | undefined;
  stopTimeoutSeconds: number | undefined;
  /** CPU and memory limits from `deploy.resources` (absent: unlimited). */
  resources?: { nanoCpus: number | undefined; memoryBytes: number | undefined; memoryReservationBytes: number | undefined; pidsLimit: number | undefined } | undefined;
}

/** A container's live state, as `up` follows it. */
export interface ContainerStatus {
  id: string;
  name: string;
  state: ContainerState;
  /** undefined when the container has no healthcheck. */
  health: 'starting' | 'healthy' | 'unhealthy' | undefined;
  /** The last healthcheck output, for failure reports. */
  healthOutput: string | undefined;
  exitCode: number;
  restartCount: number;
  oomKilled: boolean;
  /** ISO time, or undefined when never started. */
  startedAt: string | undefined;
  /** Published ports with the host port the engine bound (running containers; absent when not reported). */
  ports?: Array<{ target: number; protocol: string; hostIp: string; published: number }> | undefined;
}

export interface BuildSpec {
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target: string | undefined;
  tag: string;
  labels: Record<string, string>;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** ISO timestamp from the engine, when asked for. */
  time: string | undefined;
  text: string;
}

/**
 * One reading of a container's resource counters (the engine's one-shot stats). CPU percentages
 * need two readings: see `cpuPercent` in ui/monitor-store.ts.
 */
export interface ContainerStatsSample {
  /** The container's CPU time so far, ns (all cores). */
  cpuTotalNs: number;
  /** The host's CPU time so far, ns (all cores); 0 when the engine did not report it. */
  systemCpuNs: number;
  /** CPUs the container may use. */
  onlineCpus: number;
  /** Memory in use without the reclaimable page cache, bytes (as `docker stats` shows it). */
  memoryBytes: number;
  /** The container's memory limit (the host's memory when unlimited), bytes; 0 when unknown. */
  memoryLimitBytes: number;
}
