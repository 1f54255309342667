/**
 * The Engine port on the Docker Engine API (dockerode). The only module that imports dockerode.
 * Every call has a timeout and every failure is wrapped with the operation and what to do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { EnvironmentError, WorkFailedError } from '../errors.js';
import { LABEL } from '../labels.js';
import type { Engine } from './engine.js';
import type { ContainerState, EngineInfo, ObservedContainer, ObservedNetwork, ObservedVolume } from './types.js';

/** "No engine" must be reported quickly (reliability: within 2 s). */
export const PING_TIMEOUT_MS = 2_000;
/** Reads and light writes; long operations (builds, waits) set their own. */
export const CALL_TIMEOUT_MS = 30_000;

export interface DockerEndpoint {
  /** What the user sees: `unix:///var/run/docker.sock`, `tcp://host:2376`. */
  display: string;
  options: Docker.DockerOptions;
}

/** Where the engine is, from DOCKER_HOST (unix socket or TLS-protected tcp); plain tcp is refused. */
export function resolveDockerEndpoint(env: Readonly<Record<string, string | undefined>>): DockerEndpoint {
  const host = env.DOCKER_HOST?.trim();
  if (!host || host.startsWith('unix://')) {
    const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
    return { display: `unix://${socketPath}`, options: { socketPath } };
  }
  if (host.startsWith('tcp://')) {
    const url = new URL(host);
    const tlsVerify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
    if (!tlsVerify) {
      throw new EnvironmentError(
        'INSECURE_DOCKER_HOST',
        `refusing to use ${host} without TLS: anyone who reaches that port controls the machine`,
        'use the local socket (unset DOCKER_HOST), or set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH',
      );
    }
    const certPath = env.DOCKER_CERT_PATH ?? join(env.HOME ?? '', '.docker');
    const read = (file: string) => {
      try {
        return readFileSync(join(certPath, file));
      } catch (error) {
        throw new EnvironmentError('DOCKER_TLS', `cannot read ${join(certPath, file)}: ${(error as NodeJS.ErrnoException).code}`, 'set DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem');
      }
    };
    return {
      display: host,
      options: { host: url.hostname, port: Number(url.port || 2376), protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') },
    };
  }
  throw new EnvironmentError('UNSUPPORTED_DOCKER_HOST', `DOCKER_HOST=${host} is not supported`, 'use unix:///path/to/docker.sock or tcp:// with TLS');
}

export class DockerEngine implements Engine {
  private readonly docker: Docker;

  constructor(private readonly endpoint: DockerEndpoint) {
    this.docker = new Docker({ ...endpoint.options, timeout: CALL_TIMEOUT_MS });
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>): DockerEngine {
    return new DockerEngine(resolveDockerEndpoint(env));
  }

  async ping(): Promise<EngineInfo> {
    try {
      await withTimeout(this.docker.ping(), PING_TIMEOUT_MS, 'ping');
      const version = await withTimeout(this.docker.version(), PING_TIMEOUT_MS, 'version');
      return { version: version.Version, apiVersion: version.ApiVersion, os: `${version.Os}/${version.Arch}`, endpoint: this.endpoint.display };
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  async listContainers(labels: Record<string, string>): Promise<ObservedContainer[]> {
    const list = await this.call('list containers', () => this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } }));
    return list.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      service: container.Labels[LABEL.service] ?? '',
      state: container.State as ContainerState,
      health: /\((healthy|unhealthy|health: starting)\)/.exec(container.Status)?.[1]?.replace('health: ', ''),
      image: container.Image,
      labels: container.Labels,
      created: container.Created,
    }));
  }

  async listNetworks(labels: Record<string, string>): Promise<ObservedNetwork[]> {
    const list = await this.call('list networks', () => this.docker.listNetworks({ filters: { label: labelFilters(labels) } }));
    return list.map((network) => ({ id: network.Id, name: network.Name, key: network.Labels?.[LABEL.network], labels: network.Labels ?? {} }));
  }

  async listVolumes(labels: Record<string, string>): Promise<ObservedVolume[]> {
    const result = await this.call('list volumes', () => this.docker.listVolumes({ filters: { label: labelFilters(labels) } }));
    return (result.Volumes ?? []).map((volume) => ({ name: volume.Name, key: volume.Labels?.[LABEL.volume], labels: volume.Labels ?? {} }));
  }

  async existingImages(refs: readonly string[]): Promise<Set<string>> {
    if (refs.length === 0) return new Set();
    const images = await this.call('list images', () => this.docker.listImages());
    const tags = new Set(images.flatMap((image) => image.RepoTags ?? []));
    return new Set(refs.filter((ref) => tags.has(ref) || tags.has(ref.includes(':') ? ref : `${ref}:latest`)));
  }

  /** Runs one engine call with the timeout, wrapping failures with the operation's name. */
  private async call<T>(operation: string, run: () => Promise<T>, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    try {
      return await withTimeout(run(), timeoutMs, operation);
    } catch (error) {
      if (isConnectionError(error)) throw this.unreachable(error);
      throw new WorkFailedError('ENGINE_CALL_FAILED', `the Docker engine failed to ${operation}: ${messageOf(error)}`, undefined, error);
    }
  }

  private unreachable(error: unknown): EnvironmentError {
    const code = (error as NodeJS.ErrnoException).code;
    const where = this.endpoint.display;
    switch (code) {
      case 'ENOENT':
        return new EnvironmentError('ENGINE_NOT_FOUND', `no Docker engine at ${where} (the socket does not exist)`, 'start one: `npm run setup` installs and starts the engine; or point DOCKER_HOST at a running engine', error);
      case 'EACCES':
        return new EnvironmentError('ENGINE_PERMISSION', `permission denied on ${where}`, 'run as root, or add your user to the docker group (that group is root-equivalent)', error);
      case 'ECONNREFUSED':
        return new EnvironmentError('ENGINE_REFUSED', `the Docker engine at ${where} refused the connection`, 'is dockerd running? `npm run setup` starts it', error);
      case 'ETIMEDOUT':
        return new EnvironmentError('ENGINE_TIMEOUT', `the Docker engine at ${where} did not answer: ${messageOf(error)}`, 'check that dockerd is healthy (`docker info`)', error);
      default:
        return new EnvironmentError('ENGINE_UNREACHABLE', `cannot reach the Docker engine at ${where}: ${messageOf(error)}`, 'check DOCKER_HOST and that dockerd runs', error);
    }
  }
}

function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

const CONNECTION_CODES = new Set(['ENOENT', 'EACCES', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

function isConnectionError(error: unknown): boolean {
  return CONNECTION_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

class CallTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

async function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CallTimeout(`${operation} took longer than ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
