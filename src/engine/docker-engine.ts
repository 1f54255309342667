/**
 * The Engine port on the Docker Engine API (dockerode). The only module that imports dockerode.
 * Every call has a timeout and every failure is wrapped with the operation and what to do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { getJson, openStream, pingHeaders, requestJson, type ApiEndpoint } from './engine-api.js';
import { EnvironmentError, UsageError, WorkFailedError } from '../errors.js';
import { LABEL } from '../labels.js';
import { PassThrough, type Readable } from 'node:stream';
import { buildContextFilter } from '../definition/build-inputs.js';
import type { ContainerEngineEvent, Engine, ExecOptions } from './engine.js';
import type { BuildSpec, ContainerSpec, ContainerState, ContainerStatsSample, ContainerStatus, EngineInfo, LogLine, ObservedContainer, ObservedNetwork, ObservedVolume } from './types.js';

/** "No engine" must be reported quickly (reliability: within 2 s). */
export const PING_TIMEOUT_MS = 2_000;
/**
 * Reads and light writes; long operations (builds, waits) set their own. `ENVCTL_ENGINE_TIMEOUT_MS`
 * (1 000-600 000) changes it: a slow remote engine, or the fault tests' hanging relay. It is read
 * with DOCKER_HOST (resolveDockerEndpoint), not at import, and a bad value is refused (exit 2).
 */
export const CALL_TIMEOUT_MS = 30_000;

/** `ENVCTL_ENGINE_TIMEOUT_MS`, validated: unset means the default; anything but 1000-600000 whole ms is a usage error. */
export function callTimeoutMs(setting: string | undefined): number {
  if (setting === undefined || setting.trim() === '') return CALL_TIMEOUT_MS;
  const ms = Number(setting);
  if (/^\d+$/.test(setting.trim()) && ms >= 1_000 && ms <= 600_000) return ms;
  throw new UsageError('BAD_ENV', `ENVCTL_ENGINE_TIMEOUT_MS="${setting}" is not a timeout envctl understands`, 'give whole milliseconds between 1000 and 600000 (e.g. ENVCTL_ENGINE_TIMEOUT_MS=60000), or unset it for the default 30000');
}

export interface DockerEndpoint {
  /** What the user sees: `unix:///var/run/docker.sock`, `tcp://host:2376`. */
  display: string;
  options: Docker.DockerOptions;
  /** Limit of each engine call that sets none of its own (ENVCTL_ENGINE_TIMEOUT_MS); default CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
}

/** Where the engine is, from DOCKER_HOST (unix socket or TLS-protected tcp); plain tcp is refused. */
export function resolveDockerEndpoint(env: Readonly<Record<string, string | undefined>>): DockerEndpoint {
  return { ...dockerHostEndpoint(env), callTimeoutMs: callTimeoutMs(env.ENVCTL_ENGINE_TIMEOUT_MS) };
}

function dockerHostEndpoint(env: Readonly<Record<string, string | undefined>>): DockerEndpoint {
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
  private client: Promise<Docker> | undefined;

  constructor(private readonly endpoint: DockerEndpoint) {}

  /**
   * dockerode, loaded on first use by a write or a stream (reads use engine-api.ts). No client-wide
   * timeout: docker-modem turns it into an idle timeout on every request, which would cut quiet
   * builds, followed logs and long stops. Each call sets its own limit instead.
   */
  private docker(): Promise<Docker> {
    this.client ??= import('dockerode').then((module) => new module.default(this.endpoint.options));
    return this.client;
  }

  private get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    return getJson<T>(this.endpoint.options as ApiEndpoint, path, query);
  }

  /** A write without dockerode (engine-api.ts): `down` and a cold `up` of existing images never load it. */
  private send<T>(method: string, path: string, query: Record<string, string>, signal: AbortSignal, body?: unknown): Promise<T> {
    return requestJson<T>(this.endpoint.options as ApiEndpoint, method, path, query, body, signal);
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>): DockerEngine {
    return new DockerEngine(resolveDockerEndpoint(env));
  }

  /**
   * Checks the engine answers and says which it is. Docker names its version and OS in the
   * `/_ping` answer's headers; `detail` (doctor) or an engine that does not (another
   * implementation of the API) also asks `/version`, which adds the architecture.
   */
  async ping(options: { detail?: boolean } = {}): Promise<EngineInfo> {
    try {
      const headers = await withTimeout(pingHeaders(this.endpoint.options as ApiEndpoint), PING_TIMEOUT_MS, 'ping');
      const server = /^Docker\/(\S+) \(([^)]+)\)$/.exec(String(headers.server ?? ''));
      const apiVersion = headers['api-version'];
      if (server && typeof apiVersion === 'string' && !options.detail) {
        return { version: server[1]!, apiVersion, os: typeof headers.ostype === 'string' ? headers.ostype : server[2]!, endpoint: this.endpoint.display };
      }
      const version = await withTimeout(this.get<{ Version: string; ApiVersion: string; Os: string; Arch: string }>('/version'), PING_TIMEOUT_MS, 'version');
      return { version: version.Version, apiVersion: version.ApiVersion, os: version.Os, arch: version.Arch, endpoint: this.endpoint.display };
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  /** Where the engine keeps images, containers and volumes (`DockerRootDir`), on the engine's own host. */
  async dockerRootDir(): Promise<string> {
    const info = await this.call('read engine info', () => this.get<{ DockerRootDir: string }>('/info'), PING_TIMEOUT_MS);
    return info.DockerRootDir;
  }

  async listContainers(labels: Record<string, string>): Promise<ObservedContainer[]> {
    const list = await this.call('list containers', () => this.get<Docker.ContainerInfo[]>('/containers/json', { all: '1', filters: JSON.stringify({ label: labelFilters(labels) }) }));
    return list.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      service: container.Labels[LABEL.service] ?? '',
      state: container.State as ContainerState,
      health: /\((healthy|unhealthy|health: starting)\)/.exec(container.Status)?.[1]?.replace('health: ', ''),
      image: container.Image,
      imageId: container.ImageID,
      labels: container.Labels,
      created: container.Created,
      ports: (container.Ports ?? [])
        .filter((port) => port.PublicPort !== undefined)
        .map((port) => ({ hostIp: port.IP ?? '', published: port.PublicPort, target: port.PrivatePort, protocol: port.Type })),
    }));
  }

  async listNetworks(labels: Record<string, string>): Promise<ObservedNetwork[]> {
    const list = await this.call('list networks', () => this.get<Docker.NetworkInspectInfo[]>('/networks', { filters: JSON.stringify({ label: labelFilters(labels) }) }));
    return list.map((network) => ({ id: network.Id, name: network.Name, key: network.Labels?.[LABEL.network], labels: network.Labels ?? {} }));
  }

  async listVolumes(labels: Record<string, string>): Promise<ObservedVolume[]> {
    const result = await this.call('list volumes', () => this.get<{ Volumes: Docker.VolumeInspectInfo[] | null }>('/volumes', { filters: JSON.stringify({ label: labelFilters(labels) }) }));
    return (result.Volumes ?? []).map((volume) => ({ name: volume.Name, key: volume.Labels?.[LABEL.volume], labels: volume.Labels ?? {} }));
  }

  async existingImages(refs: readonly string[]): Promise<Set<string>> {
    // Inspect resolves every form of reference the engine accepts (tags, digests, full names).
    const present = await Promise.all(
      [...new Set(refs)].map(async (ref) => {
        const found = await this.call(`inspect image ${ref}`, () =>
          this.get(`/images/${encodeURIComponent(ref)}/json`)
            .then(() => true)
            .catch(ignoreStatus(404)),
        );
        return found ? ref : undefined;
      }),
    );
    return new Set(present.filter((ref): ref is string => ref !== undefined));
  }

  async imageIds(refs: readonly string[]): Promise<Map<string, string>> {
    const found = await Promise.all(
      [...new Set(refs)].map(async (ref) => {
        const image = await this.call(`inspect image ${ref}`, () => this.get<{ Id: string }>(`/images/${encodeURIComponent(ref)}/json`).catch(ignoreStatus(404)));
        return image ? ([ref, image.Id] as const) : undefined;
      }),
    );
    return new Map(found.filter((entry): entry is readonly [string, string] => entry !== undefined));
  }

  async buildImage(spec: BuildSpec, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    const docker = await this.docker();
    const included = await buildContextFilter(spec);
    // Loaded on use: only a build sends a context (tar-fs and its streams are no part of a no-change `up`).
    // (The CommonJS module's own exports object, as `default`: the bundle gives no named exports.)
    const { default: tarFs } = await import('tar-fs');
    const context = tarFs.pack(spec.context, {
      ignore: (name) => {
        const rel = relativePosix(spec.context, name);
        return rel !== '' && !included(rel) && !included(`${rel}/`);
      },
    });
    const tail: string[] = [];
    const remember = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      onLine(line);
    };
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
        t: spec.tag,
        dockerfile: spec.dockerfile,
        buildargs: spec.args,
        ...(spec.target ? { target: spec.target } : {}),
        labels: spec.labels,
        rm: true,
        forcerm: true,
        abortSignal: signal,
      } as Docker.ImageBuildOptions);
    } catch (error) {
      context.destroy();
      if (isConnectionError(error)) throw this.unreachable(error);
      throw new WorkFailedError('BUILD_FAILED', `building ${spec.tag} failed: ${messageOf(error)}`, undefined, error);
    }
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          for (const line of (event.stream ?? '').split('\n')) if (line.trim() !== '') remember(line.trimEnd());
          if (event.error) reject(new Error(event.errorDetail?.message ?? event.error));
        },
      );
    }).catch((error: unknown) => {
      if (signal.aborted) throw signal.reason;
      throw new WorkFailedError('BUILD_FAILED', `building ${spec.tag} failed: ${messageOf(error)}\n${tail.slice(-15).map((line) => `    ${line}`).join('\n')}`, 'fix the Dockerfile or the build context; the last lines of the build are above', error);
    });
  }

  async createNetwork(spec: { name: string; driver: string; driverOpts: Record<string, string>; internal: boolean; attachable: boolean; labels: Record<string, string> }): Promise<void> {
    const body = { Name: spec.name, Driver: spec.driver, Options: spec.driverOpts, Internal: spec.internal, Attachable: spec.attachable, Labels: spec.labels, CheckDuplicate: true };
    await this.call(`create network ${spec.name}`, (abortSignal) => this.send('POST', '/networks/create', {}, abortSignal, body));
  }

  async removeNetwork(name: string): Promise<void> {
    await this.call(`remove network ${name}`, (abortSignal) => ignoreNotFound(this.send('DELETE', `/networks/${encodeURIComponent(name)}`, {}, abortSignal)));
  }

  async createVolume(spec: { name: string; driver: string; driverOpts: Record<string, string>; labels: Record<string, string> }): Promise<void> {
    const body = { Name: spec.name, Driver: spec.driver, DriverOpts: spec.driverOpts, Labels: spec.labels };
    await this.call(`create volume ${spec.name}`, (abortSignal) => this.send('POST', '/volumes/create', {}, abortSignal, body));
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(`remove volume ${name}`, (abortSignal) => ignoreNotFound(this.send('DELETE', `/volumes/${encodeURIComponent(name)}`, {}, abortSignal)));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    // The name is a query parameter of the API, not part of the body.
    const { name, ...body } = toCreateOptions(spec);
    const container = await this.call(`create container ${spec.name}`, (abortSignal) => this.send<{ Id: string }>('POST', '/containers/create', { name: name ?? spec.name }, abortSignal, body));
    // Engines before API 1.44 attach one network at create time; the others are connected before
    // start. A container that could not join them all is removed: its labels would claim it complete.
    try {
      for (const network of spec.networks.slice(1)) {
        const body = { Container: container.Id, EndpointConfig: { Aliases: network.aliases } };
        await this.call(`connect ${spec.name} to ${network.name}`, (abortSignal) => this.send('POST', `/networks/${encodeURIComponent(network.name)}/connect`, {}, abortSignal, body));
      }
    } catch (error) {
      await this.removeContainer(container.Id).catch(() => undefined);
      throw error;
    }
    return container.Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${id.slice(0, 12)}`, (abortSignal) => this.send('POST', `/containers/${encodeURIComponent(id)}/start`, {}, abortSignal).catch(ignoreStatus(304)));
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    // The engine waits up to the grace period itself; give the HTTP call that long plus margin.
    await this.call(
      `stop container ${id.slice(0, 12)}`,
      (abortSignal) => ignoreNotFound(this.send('POST', `/containers/${encodeURIComponent(id)}/stop`, { t: String(timeoutSeconds) }, abortSignal).catch(ignoreStatus(304))),
      (timeoutSeconds + 15) * 1000,
    );
  }

  async removeContainer(id: string): Promise<void> {
    await this.call(`remove container ${id.slice(0, 12)}`, (abortSignal) => ignoreNotFound(this.send('DELETE', `/containers/${encodeURIComponent(id)}`, { force: 'true', v: 'true' }, abortSignal)));
  }

  async copyRestartPolicy(fromId: string, toId: string): Promise<void> {
    await this.call(`update the restart policy of container ${toId.slice(0, 12)}`, async (abortSignal) => {
      const from = await this.send<{ HostConfig?: { RestartPolicy?: { Name?: string; MaximumRetryCount?: number } } }>('GET', `/containers/${encodeURIComponent(fromId)}/json`, {}, abortSignal);
      await this.send('POST', `/containers/${encodeURIComponent(toId)}/update`, {}, abortSignal, { RestartPolicy: from.HostConfig?.RestartPolicy ?? { Name: 'no' } });
    });
  }

  async renameContainer(id: string, name: string): Promise<void> {
    const docker = await this.docker();
    await this.call(`rename container ${id.slice(0, 12)} to ${name}`, (abortSignal) => docker.getContainer(id).rename({ name, abortSignal }));
  }

  async restartContainer(id: string, timeoutSeconds: number): Promise<void> {
    const docker = await this.docker();
    // The engine waits up to the grace period itself; give the HTTP call that long plus margin.
    await this.call(`restart container ${id.slice(0, 12)}`, (abortSignal) => docker.getContainer(id).restart({ t: timeoutSeconds, abortSignal }), (timeoutSeconds + 15) * 1000);
  }

  async statsOnce(id: string): Promise<ContainerStatsSample> {
    // `one-shot`: answer at once instead of waiting a second for a second sample (API 1.41+).
    const stats = await this.call(`read stats of ${id.slice(0, 12)}`, () => this.get<EngineStats>(`/containers/${encodeURIComponent(id)}/stats`, { stream: 'false', 'one-shot': 'true' }), 5_000);
    return statsSample(stats);
  }

  async inspectContainer(id: string): Promise<ContainerStatus> {
    const info = await this.call(`inspect container ${id.slice(0, 12)}`, () => this.get<Docker.ContainerInspectInfo>(`/containers/${encodeURIComponent(id)}/json`));
    const health = info.State.Health;
    const lastProbe = health?.Log?.at(-1);
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      state: info.State.Status as ContainerState,
      health: (health?.Status as ContainerStatus['health']) || undefined,
      healthOutput: lastProbe ? `${lastProbe.Output}`.trim() : undefined,
      exitCode: info.State.ExitCode,
      restartCount: info.RestartCount,
      oomKilled: info.State.OOMKilled,
      startedAt: info.State.StartedAt && !info.State.StartedAt.startsWith('0001') ? info.State.StartedAt : undefined,
      ports: publishedPorts(info.NetworkSettings?.Ports),
    };
  }

  async containerLogs(id: string, options: { tail?: number; since?: number; timestamps?: boolean }): Promise<LogLine[]> {
    const docker = await this.docker();
    const buffer = await this.call(`read logs of ${id.slice(0, 12)}`, () =>
      docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, ...(options.tail !== undefined ? { tail: options.tail } : {}), since: options.since ?? 0, timestamps: options.timestamps ?? false }),
    );
    const lines: LogLine[] = [];
    for await (const line of demuxLines(bufferStream(buffer as unknown as Buffer), docker, options.timestamps ?? false)) lines.push(line);
    return lines;
  }

  async *followLogs(id: string, options: { tail?: number; since?: number; timestamps?: boolean }, signal: AbortSignal): AsyncIterable<LogLine> {
    const docker = await this.docker();
    const stream = (await this.call(`follow logs of ${id.slice(0, 12)}`, () =>
      docker.getContainer(id).logs({ stdout: true, stderr: true, follow: true, ...(options.tail !== undefined ? { tail: options.tail } : {}), since: options.since ?? 0, timestamps: options.timestamps ?? false, abortSignal: signal } as Docker.ContainerLogsOptions & { follow: true }),
    )) as unknown as Readable;
    const stop = () => stream.destroy();
    signal.addEventListener('abort', stop, { once: true });
    try {
      yield* demuxLines(stream, docker, options.timestamps ?? false);
    } finally {
      signal.removeEventListener('abort', stop);
      stream.destroy();
    }
  }

  async exec(id: string, options: ExecOptions): Promise<number> {
    const docker = await this.docker();
    const container = docker.getContainer(id);
    const exec = await this.call(`exec in ${id.slice(0, 12)}`, () =>
      container.exec({
        Cmd: options.command,
        AttachStdin: options.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: options.tty,
        ...(options.user ? { User: options.user } : {}),
        ...(options.workdir ? { WorkingDir: options.workdir } : {}),
        ...(options.env ? { Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`) } : {}),
      }),
    );
    const stream = (await this.call(`start exec in ${id.slice(0, 12)}`, () => exec.start({ hijack: true, stdin: options.stdin !== undefined, Tty: options.tty }))) as unknown as NodeJS.ReadWriteStream;
    const resize = (size: { columns: number; rows: number }) => exec.resize({ h: size.rows, w: size.columns }).catch(() => undefined);
    if (options.tty && options.size) await resize(options.size);
    options.onResize?.((size) => void resize(size));
    const finished = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    if (options.tty) stream.pipe(options.stdout, { end: false });
    else docker.modem.demuxStream(stream, options.stdout, options.stderr);
    if (options.stdin) {
      options.stdin.pipe(stream);
      options.stdin.on('end', () => (stream as unknown as { end?: () => void }).end?.());
    }
    const stopWaiting = () => (stream as unknown as { destroy?: () => void }).destroy?.();
    options.signal?.addEventListener('abort', stopWaiting, { once: true });
    if (options.signal?.aborted) stopWaiting();
    await finished;
    options.signal?.removeEventListener('abort', stopWaiting);
    if (options.stdin) options.stdin.unpipe(stream);
    // A probe given up on (a hung healthcheck): its open stream must not keep the CLI alive.
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('exec aborted');
    // The exit code is recorded a moment after the stream closes.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const info = await this.call('inspect exec', () => exec.inspect());
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new WorkFailedError('EXEC_UNKNOWN_EXIT', 'the command finished but the engine reported no exit code');
  }

  async containerEvents(labels: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<ContainerEngineEvent>> {
    // Resolves once the engine answered the request: every event from then on is in the stream.
    const filters = JSON.stringify({ type: ['container'], label: labelFilters(labels), event: [...CONTAINER_EVENTS] });
    // The caller's signal ends the stream; the call's own (on its timeout) ends a request the engine never answered.
    const stream = (await this.call('follow container events', (abortSignal) => openStream(this.endpoint.options as ApiEndpoint, '/events', { filters }, AbortSignal.any([signal, abortSignal])))) as Readable;
    signal.addEventListener('abort', () => stream.destroy(), { once: true });
    return eventLines(stream);
  }

  /**
   * Runs one engine call with the timeout, wrapping failures with the operation's name. A call
   * that times out is aborted (its socket closed): an engine that hangs must not keep the CLI alive
   * after it has reported the error.
   */
  private async call<T>(operation: string, run: (abortSignal: AbortSignal) => Promise<T>, timeoutMs = this.endpoint.callTimeoutMs ?? CALL_TIMEOUT_MS): Promise<T> {
    const abort = new AbortController();
    try {
      return await withTimeout(run(abort.signal), timeoutMs, operation);
    } catch (error) {
      if (error instanceof CallTimeout) abort.abort(error);
      if (isConnectionError(error)) throw this.unreachable(error);
      throw new WorkFailedError('ENGINE_CALL_FAILED', `the Docker engine failed to ${operation}: ${messageOf(error)}`, undefined, error);
    }
  }

  /** The EnvironmentError (exit 3) for an engine that cannot be reached, naming the endpoint. */
  unreachable(error: unknown): EnvironmentError {
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

/** The Docker create body for a spec. Ports without a host port get one chosen by the engine. */
function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of spec.ports) {
    const key = `${port.target}/${port.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: port.hostIp, HostPort: port.published === undefined ? '' : String(port.published) });
  }
  for (const port of spec.expose) exposed[port.includes('/') ? port : `${port}/tcp`] = {};
  const binds = spec.mounts.filter((mount) => mount.type === 'bind').map((mount) => `${mount.source}:${mount.target}${mount.readOnly ? ':ro' : ''}`);
  const mounts = spec.mounts
    .filter((mount) => mount.type !== 'bind')
    .map((mount) => ({
      Type: mount.type,
      Target: mount.target,
      ReadOnly: mount.readOnly,
      ...(mount.source ? { Source: mount.source } : {}),
      ...(mount.type === 'tmpfs' && mount.tmpfsSize !== undefined ? { TmpfsOptions: { SizeBytes: mount.tmpfsSize } } : {}),
    }));
  const [restartName, restartMax] = spec.restart.split(':') as [string, string | undefined];
  const healthcheck = spec.healthcheck;
  const first = spec.networks[0];
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.command ? { Cmd: spec.command } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: spec.labels,
    ExposedPorts: exposed,
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.stopSignal ? { StopSignal: spec.stopSignal } : {}),
    ...(spec.stopTimeoutSeconds !== undefined ? { StopTimeout: spec.stopTimeoutSeconds } : {}),
    ...(healthcheck
      ? {
          Healthcheck: healthcheck.disabled
            ? { Test: ['NONE'] }
            : {
                Test: healthcheck.test,
                Interval: healthcheck.intervalMs * 1e6,
                Timeout: healthcheck.timeoutMs * 1e6,
                Retries: healthcheck.retries,
                StartPeriod: healthcheck.startPeriodMs * 1e6,
                StartInterval: healthcheck.startIntervalMs * 1e6,
              },
        }
      : {}),
    HostConfig: {
      PortBindings: bindings,
      Binds: binds,
      Mounts: mounts,
      Init: spec.init,
      ...(spec.resources?.nanoCpus !== undefined ? { NanoCpus: spec.resources.nanoCpus } : {}),
      ...(spec.resources?.memoryBytes !== undefined ? { Memory: spec.resources.memoryBytes } : {}),
      ...(spec.resources?.memoryReservationBytes !== undefined ? { MemoryReservation: spec.resources.memoryReservationBytes } : {}),
      ...(spec.resources?.pidsLimit !== undefined ? { PidsLimit: spec.resources.pidsLimit } : {}),
      RestartPolicy: { Name: restartName === 'no' ? '' : restartName, ...(restartMax ? { MaximumRetryCount: Number(restartMax) } : {}) },
      ...(first ? { NetworkMode: first.name } : {}),
    },
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } } } : {}),
  } as Docker.ContainerCreateOptions;
}

/** `NetworkSettings.Ports` (`"3000/tcp": [{ HostIp, HostPort }]`) as envctl's published ports. */
function publishedPorts(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined): ContainerStatus['ports'] {
  if (!ports) return undefined;
  return Object.entries(ports).flatMap(([key, bindings]) => {
    const [target, protocol = 'tcp'] = key.split('/');
    return (bindings ?? []).map((binding) => ({ target: Number(target), protocol, hostIp: binding.HostIp, published: Number(binding.HostPort) }));
  });
}

/** The fields of the engine's stats answer envctl reads (cgroup v1 and v2 name the cache differently). */
interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

export function statsSample(stats: EngineStats): ContainerStatsSample {
  const cpu = stats.cpu_stats ?? {};
  const memory = stats.memory_stats ?? {};
  const extra = memory.stats ?? {};
  // What `docker stats` shows: usage minus the page cache the kernel can reclaim.
  const reclaimable = extra.total_inactive_file ?? extra.inactive_file ?? extra.cache ?? 0;
  const usage = memory.usage ?? 0;
  return {
    cpuTotalNs: cpu.cpu_usage?.total_usage ?? 0,
    systemCpuNs: cpu.system_cpu_usage ?? 0,
    onlineCpus: cpu.online_cpus ?? cpu.cpu_usage?.percpu_usage?.length ?? 1,
    memoryBytes: Math.max(0, usage - (reclaimable < usage ? reclaimable : 0)),
    memoryLimitBytes: memory.limit ?? 0,
  };
}

/** Splits the engine's multiplexed stdout/stderr stream into lines. */
export async function* demuxLines(stream: Readable, docker: Docker, timestamps: boolean): AsyncIterable<LogLine> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let ended = 0;
  const partial = { stdout: '', stderr: '' };
  const push = (name: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = partial[name] + chunk.toString('utf8');
    const lines = text.split('\n');
    partial[name] = lines.pop() ?? '';
    for (const line of lines) queue.push(toLogLine(name, line, timestamps));
    wake?.();
  };
  const finish = (name: 'stdout' | 'stderr') => () => {
    if (partial[name] !== '') queue.push(toLogLine(name, partial[name], timestamps));
    partial[name] = '';
    ended += 1;
    wake?.();
  };
  stdout.on('data', push('stdout')).on('end', finish('stdout'));
  stderr.on('data', push('stderr')).on('end', finish('stderr'));
  docker.modem.demuxStream(stream, stdout, stderr);
  const close = () => {
    stdout.end();
    stderr.end();
  };
  stream.on('end', close).on('close', close).on('error', close);
  while (ended < 2 || queue.length > 0) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
}

function toLogLine(stream: 'stdout' | 'stderr', raw: string, timestamps: boolean): LogLine {
  const line = raw.replace(/\r$/, '');
  if (!timestamps) return { stream, time: undefined, text: line };
  const space = line.indexOf(' ');
  return space > 0 ? { stream, time: line.slice(0, space), text: line.slice(space + 1) } : { stream, time: undefined, text: line };
}

export function bufferStream(buffer: Buffer): Readable {
  const stream = new PassThrough();
  stream.end(buffer);
  return stream;
}

function relativePosix(root: string, path: string): string {
  const rel = path.startsWith(root) ? path.slice(root.length).replace(/^[/\\]+/, '') : path;
  return rel.split('\\').join('/');
}

async function ignoreNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  return promise.catch(ignoreStatus(404));
}

function ignoreStatus(status: number) {
  return (error: unknown): undefined => {
    if ((error as { statusCode?: number }).statusCode === status) return undefined;
    throw error;
  };
}

/** The container events envctl follows: lifecycle and health, not the healthchecks' own exec_* events. */
const CONTAINER_EVENTS = ['start', 'restart', 'die', 'oom', 'stop', 'destroy', 'health_status'] as const;

/** The engine's event stream (one JSON object per line) as container events; ends when the stream does. */
async function* eventLines(stream: Readable): AsyncIterable<ContainerEngineEvent> {
  let pending = '';
  try {
    for await (const chunk of stream) {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line === '') continue;
        const event = JSON.parse(line) as { id?: string; Action?: string; Actor?: { ID?: string } };
        const id = event.Actor?.ID ?? event.id;
        if (id && event.Action) yield { id, action: event.Action };
      }
    }
  } catch (error) {
    // An aborted follow ends quietly; anything else ends the stream too (callers fall back to polling).
    if (!stream.destroyed) throw error;
  }
}

export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

const CONNECTION_CODES = new Set(['ENOENT', 'EACCES', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

export function isConnectionError(error: unknown): boolean {
  return CONNECTION_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

class CallTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
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
