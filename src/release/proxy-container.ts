/**
 * The release proxy as a container of the environment: on the environment's network (so it reaches
 * the arms by their container names), its data port published on 127.0.0.1 only, restarted by the
 * engine (`unless-stopped`) so it outlives the CLI that started it.
 *
 * The release folder is bind-mounted at the same path inside the container, so every path in
 * `proxy.json` (admin socket, request log) means the same file for the CLI and for the proxy. The
 * proxy runs as the CLI's uid:gid, so what it writes there belongs to the user, and the 0600 admin
 * socket can be reached by the CLI and nobody else.
 */
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../engine/engine.js';
import type { ContainerSpec, ContainerStatus } from '../engine/types.js';
import { EnvironmentError } from '../errors.js';
import { createAdminClient } from '../proxy/admin-client.js';
import type { ProxyConfigFile } from '../proxy/main.js';
import { validateWeights } from '../proxy/routing.js';
import type { Arm, Weights } from '../proxy/types.js';
import { writeJsonAtomic } from './store.js';

/** The data port inside the container. */
export const PROXY_CONTAINER_PORT = 8080;
/** How long a started proxy may take to answer on its admin socket, ms. */
export const PROXY_READY_TIMEOUT_MS = 20_000;
/** `docker stop` grace: the proxy's drain (10 s) plus closing the request log, s. */
export const PROXY_STOP_TIMEOUT_S = 15;
/** Linux `sun_path` holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;
const POLL_INTERVAL_MS = 100;
const INSPECT_EVERY_POLLS = 5;
const LOG_TAIL_LINES = 20;

export function proxyAdminSocket(releaseDir: string): string {
  return join(releaseDir, 'admin.sock');
}

export function proxyConfigFile(releaseDir: string): string {
  return join(releaseDir, 'proxy.json');
}

export function proxyRequestsFile(releaseDir: string): string {
  return join(releaseDir, 'requests.jsonl.gz');
}

export interface ProxyContainerOptions {
  /** Engine container name. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** Engine network name of the environment; the arms' hosts are resolved on it. */
  network: string;
  /** Absolute host folder, mounted at the same path in the container. */
  releaseDir: string;
  /** Container DNS names and ports on `network`. */
  upstreams: Record<Arm, { host: string; port: number }>;
  weights: Weights;
  step: number;
  sticky: 'none' | 'cookie';
  /** Published on 127.0.0.1; chosen by the engine when omitted. */
  hostPort?: number;
  /** `uid:gid` of the CLI's process. */
  user: string;
  /** Default {@link PROXY_READY_TIMEOUT_MS}. */
  readyTimeoutMs?: number;
  /** Aborts the wait for readiness (the container is then removed). */
  signal?: AbortSignal;
}

export interface ProxyContainer {
  containerId: string;
  name: string;
  /** The data port on 127.0.0.1, as the engine published it. */
  hostPort: number;
  adminSocket: string;
}

/**
 * Writes `<releaseDir>/proxy.json`, creates and starts the proxy container, and returns once its
 * admin socket answers. When it does not within the timeout (or the proxy exits), the container is
 * removed and an EnvironmentError carries its last log lines.
 */
export async function startProxyContainer(engine: Engine, options: ProxyContainerOptions): Promise<ProxyContainer> {
  const { adminSocket, configPath } = await writeProxyConfig(options);

  const containerId = await engine.createContainer(proxyContainerSpec(options, configPath));
  try {
    await engine.startContainer(containerId).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (options.hostPort !== undefined && /port is already allocated|address already in use/i.test(message)) {
        throw new EnvironmentError('PROXY_PORT_IN_USE', `the release proxy cannot publish 127.0.0.1:${options.hostPort}: it is already in use`, 'choose another proxy port or stop what is using it', error);
      }
      throw error;
    });
    await waitUntilAnswering(engine, containerId, options, adminSocket);
    const hostPort = await publishedPort(engine, containerId, options.labels);
    return { containerId, name: options.name, hostPort, adminSocket };
  } catch (error) {
    await engine.removeContainer(containerId).catch(() => undefined);
    throw error;
  }
}

/**
 * Checks the release folder and the admin socket path, refuses when a proxy already serves the
 * folder, and writes `<releaseDir>/proxy.json` (atomically: a restarted proxy reads it again).
 * Shared by the container and the swarm service that run the proxy.
 */
export async function writeProxyConfig(options: Pick<ProxyContainerOptions, 'releaseDir' | 'user' | 'upstreams' | 'weights' | 'sticky' | 'step'>): Promise<{ adminSocket: string; configPath: string }> {
  if (!isAbsolute(options.releaseDir)) throw new RangeError(`releaseDir must be an absolute path, got ${options.releaseDir}`);
  if (!/^\d+:\d+$/.test(options.user)) throw new RangeError(`user must be uid:gid, got ${options.user}`);
  const adminSocket = proxyAdminSocket(options.releaseDir);
  if (Buffer.byteLength(adminSocket) > MAX_SOCKET_PATH_BYTES) {
    throw new EnvironmentError(
      'PROXY_SOCKET_PATH_TOO_LONG',
      `the release proxy's admin socket path ${adminSocket} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket path may have`,
      'move the project to a folder with a shorter path',
    );
  }
  const config: ProxyConfigFile = {
    host: '0.0.0.0',
    port: PROXY_CONTAINER_PORT,
    upstreams: options.upstreams,
    weights: validateWeights(options.weights),
    sticky: options.sticky,
    step: options.step,
    adminSocket,
    requestsFile: proxyRequestsFile(options.releaseDir),
  };
  // A proxy still serving this release folder would answer the readiness probe in place of the new one.
  if (await createAdminClient(adminSocket, { timeoutMs: 1_000 }).healthz()) {
    throw new EnvironmentError(
      'PROXY_ALREADY_RUNNING',
      `a release proxy already answers on ${adminSocket}`,
      'stop the container that serves this release folder first (`docker ps` shows it), or use a new release folder',
    );
  }
  const configPath = proxyConfigFile(options.releaseDir);
  // Atomic (temp, fsync, rename): the engine restarts the proxy from this file after a crash.
  await writeJsonAtomic(configPath, config);

  return { adminSocket, configPath };
}

function proxyContainerSpec(options: ProxyContainerOptions, configPath: string): ContainerSpec {
  return {
    name: options.name,
    image: options.image,
    // Appended to the image's entrypoint: `tini -s -- node /opt/envctl-proxy/proxy.mjs CONFIG`.
    command: [configPath],
    entrypoint: undefined,
    env: {},
    labels: options.labels,
    ports: [{ target: PROXY_CONTAINER_PORT, published: options.hostPort, hostIp: '127.0.0.1', protocol: 'tcp' }],
    expose: [],
    mounts: [{ type: 'bind', source: options.releaseDir, target: options.releaseDir, readOnly: false }],
    networks: [{ name: options.network, aliases: [options.name] }],
    healthcheck: undefined,
    restart: 'unless-stopped',
    workingDir: undefined,
    user: options.user,
    init: false,
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: PROXY_STOP_TIMEOUT_S,
  };
}

async function waitUntilAnswering(engine: Engine, containerId: string, options: ProxyContainerOptions, adminSocket: string): Promise<void> {
  const timeoutMs = options.readyTimeoutMs ?? PROXY_READY_TIMEOUT_MS;
  const admin = createAdminClient(adminSocket, { timeoutMs: 1_000 });
  const deadline = performance.now() + timeoutMs;
  for (let poll = 0; ; poll += 1) {
    if (await admin.healthz()) return;
    if (poll % INSPECT_EVERY_POLLS === 0) {
      const status = await engine.inspectContainer(containerId);
      // A proxy that exits (bad config, folder not writable) is restarted by the engine: the first
      // exit is the answer, not the timeout.
      if (status.state === 'exited' || status.state === 'dead' || status.state === 'restarting' || status.restartCount > 0) {
        throw await notReady(engine, containerId, options, exitDescription(status), false);
      }
    }
    if (performance.now() >= deadline) {
      throw await notReady(engine, containerId, options, `did not answer on its admin socket ${adminSocket} within ${timeoutMs / 1000} s`, true);
    }
    await sleep(POLL_INTERVAL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}

/** A running container's exit code is that of its current run (0), so only a stopped one's is told. */
function exitDescription(status: ContainerStatus): string {
  if (status.state === 'exited' || status.state === 'dead') return `exited with code ${status.exitCode}`;
  if (status.state === 'restarting') return `exited with code ${status.exitCode} and is being restarted`;
  return `exited at start and was restarted ${status.restartCount}×`;
}

async function notReady(engine: Engine, containerId: string, options: ProxyContainerOptions, what: string, running: boolean): Promise<EnvironmentError> {
  const lines = await engine.containerLogs(containerId, { tail: LOG_TAIL_LINES }).catch(() => []);
  const log = lines.length > 0 ? `\nlast lines of its log:\n${lines.map((line) => `  ${line.text}`).join('\n')}` : '\nits log is empty';
  return new EnvironmentError(
    'PROXY_NOT_READY',
    `the release proxy container ${options.name} ${what}${log}`,
    running
      ? 'if the log shows it listening, its admin socket (a unix socket in the bind-mounted release folder) cannot be reached from here: this needs an engine on this machine that shares the folder with the host (not a remote DOCKER_HOST, not Docker Desktop)'
      : `check that ${options.releaseDir} is writable by ${options.user} and that the image ${options.image} is a release proxy image`,
  );
}

async function publishedPort(engine: Engine, containerId: string, labels: Record<string, string>): Promise<number> {
  const containers = await engine.listContainers(labels);
  const port = containers
    .find((container) => container.id === containerId)
    ?.ports.find((candidate) => candidate.target === PROXY_CONTAINER_PORT && candidate.protocol === 'tcp' && candidate.hostIp === '127.0.0.1');
  if (!port) {
    throw new EnvironmentError('PROXY_PORT_MISSING', `the engine reports no 127.0.0.1 port for the release proxy container ${containerId.slice(0, 12)}`, 'check `docker ps` for the container and its ports');
  }
  return port.published;
}
