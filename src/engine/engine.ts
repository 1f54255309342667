/**
 * The Engine port: everything envctl asks of a container engine, in envctl's own types. One real
 * adapter (`docker-engine.ts`, dockerode); tests of pure logic may use a fake.
 */
import type { BuildSpec, ContainerSpec, ContainerStatsSample, ContainerStatus, EngineInfo, LogLine, ObservedContainer, ObservedNetwork, ObservedVolume } from './types.js';

export interface Engine {
  /** Checks the engine answers; throws EnvironmentError (exit 3) with what to do when it does not. */
  ping(options?: { detail?: boolean }): Promise<EngineInfo>;
  /** Containers (running or not) carrying all the given labels. */
  listContainers(labels: Record<string, string>): Promise<ObservedContainer[]>;
  listNetworks(labels: Record<string, string>): Promise<ObservedNetwork[]>;
  listVolumes(labels: Record<string, string>): Promise<ObservedVolume[]>;
  /** Which of the given image references exist locally. */
  existingImages(refs: readonly string[]): Promise<Set<string>>;
  /** The image ID (`sha256:…`) each reference resolves to now; references that do not exist are left out. */
  imageIds(refs: readonly string[]): Promise<Map<string, string>>;

  /** Builds and tags an image; each output line goes to `onLine`. Throws WorkFailedError with the tail of the output on failure. */
  buildImage(spec: BuildSpec, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  createNetwork(spec: { name: string; driver: string; driverOpts: Record<string, string>; internal: boolean; attachable: boolean; labels: Record<string, string> }): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  createVolume(spec: { name: string; driver: string; driverOpts: Record<string, string>; labels: Record<string, string> }): Promise<void>;
  removeVolume(name: string): Promise<void>;
  /** Creates (does not start) a container; returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Stops with the given grace period (seconds) before SIGKILL; a stopped container is fine. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes a container (forced) and its anonymous volumes; a missing one is fine. */
  removeContainer(id: string): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  /** Gives container `toId` the restart policy of container `fromId` (as `docker update --restart`; no restart). */
  copyRestartPolicy(fromId: string, toId: string): Promise<void>;
  /** Restarts a container: stop with the grace period (seconds) before SIGKILL, then start. */
  restartContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** One reading of a container's CPU and memory counters (no stream; the engine answers at once). */
  statsOnce(id: string): Promise<ContainerStatsSample>;
  inspectContainer(id: string): Promise<ContainerStatus>;
  /** The last `tail` lines of a container's output (stdout and stderr interleaved). */
  containerLogs(id: string, options: { tail?: number; since?: number; timestamps?: boolean }): Promise<LogLine[]>;
  /** Follows a container's output until the signal aborts or the container stops. */
  followLogs(id: string, options: { tail?: number; since?: number; timestamps?: boolean }, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Runs a command in a running container, wired to the given streams; resolves with its exit code. */
  exec(id: string, options: ExecOptions): Promise<number>;
  /**
   * Streams the lifecycle events (start, die, health_status, …; not exec) of containers carrying all
   * the given labels, from the moment the returned promise resolves until the signal aborts. Optional:
   * without it, callers poll (engine/container-events.ts).
   */
  containerEvents?(labels: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<ContainerEngineEvent>>;
}

/** One container event from the engine's event stream. */
export interface ContainerEngineEvent {
  id: string;
  /** `start`, `die`, `stop`, `health_status: healthy`, … */
  action: string;
}

/**
 * Whether an Engine call failed because the object is gone (the engine answered 404): a container
 * removed by `docker rm` or `envctl down`, as opposed to an engine that did not answer.
 */
export function isNotFound(error: unknown): boolean {
  const cause = (error as { cause?: { statusCode?: number } } | undefined)?.cause;
  return cause?.statusCode === 404 || /no such container/i.test(String((error as Error | undefined)?.message));
}

export interface ExecOptions {
  command: string[];
  tty: boolean;
  /** Forwarded to the command when given (interactive use). */
  stdin: NodeJS.ReadableStream | undefined;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  user?: string | undefined;
  workdir?: string | undefined;
  env?: Record<string, string> | undefined;
  /** Terminal size for a TTY, and a way to hear about resizes. */
  size?: { columns: number; rows: number } | undefined;
  onResize?: ((listener: (size: { columns: number; rows: number }) => void) => void) | undefined;
  /** Stops waiting: the exec's stream is closed and the call rejects (the process may go on in the container). */
  signal?: AbortSignal | undefined;
}
