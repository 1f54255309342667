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
  labels: Record<string, string>;
  /** Seconds since the epoch, as the engine reports it. */
  created: number;
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
  os: string;
  endpoint: string;
}
