/// <reference lib="esnext.disposable" preserve="true" />
/**
 * `startEnvironment`: an environment for a test suite, started by the same core as `envctl up`
 * (load → plan → execute, health-gated), under its own project name with engine-chosen host ports
 * so that suites running in parallel, and the developer's own `envctl up`, never collide. Torn
 * down by `stop()`, and by the reaper (reaper.ts) when the test process ends without calling it,
 * SIGKILL included.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition } from '../definition/resolve.js';
import { parseDurationMs } from '../definition/values.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { downEnvironment } from '../engine/down.js';
import type { Engine } from '../engine/engine.js';
import type { ObservedContainer } from '../engine/types.js';
import { upEnvironment, type UpResult } from '../engine/up.js';
import { UsageError, WorkFailedError } from '../errors.js';
import type { EnvctlEvent } from '../events.js';
import { environmentLabels, LABEL } from '../labels.js';
import { deriveEnvironment } from '../pipeline/environments.js';
import { sleep } from '../sleep.js';
import { startReaper, type ReaperHandle } from './reaper.js';
import { isTruthy } from '../fs-util.js';
import { checkWaitFor, runWaitStrategies, type WaitFor } from './wait-strategies.js';

export interface StartEnvironmentOptions {
  /** Folder to look for the definition in (envctl.yaml, compose.yaml … here or in a parent). Default: the current folder. */
  dir?: string;
  /** The definition file itself (relative to `dir`). */
  file?: string;
  /** Environment overlay to apply (from `environments:`). Default: the base definition. */
  env?: string;
  /** Profiles to enable. */
  profiles?: string[];
  /** Project name. Default: `<project>-test-<random>`, unique per call, so parallel suites do not collide. */
  project?: string;
  /**
   * How long the environment may take to be ready: milliseconds or a duration (`90s`, `2m`).
   * Default 2m.
   */
  timeout?: number | string;
  /** `ephemeral` (default): every published port moves to a free host port the engine picks; `declared`: the ports as written. */
  ports?: 'ephemeral' | 'declared';
  /** Keep named volumes on stop and when reaped. Default false: everything goes. */
  keepVolumes?: boolean;
  /** Start the reaper (default true; `ENVCTL_REAPER_DISABLED=true` turns it off). */
  reaper?: boolean;
  /** Variables for `${VAR}` interpolation and the environment lookups. Default: `process.env`. */
  processEnv?: Readonly<Record<string, string | undefined>>;
  /** Progress events (the ones `envctl up` renders). */
  onEvent?: (event: EnvctlEvent) => void;
  /** Cancels the start; what was created is removed. */
  signal?: AbortSignal;
  /**
   * What to wait for per service once the environment is up (README "Testing API"): a log line
   * (`{ log: /ready/ }`), an HTTP answer (`{ http: '/healthz', status: 200 }`) or a listening port
   * (`{ port: 5432 }`), each with an optional `timeout` within the start's own.
   */
  waitFor?: WaitFor;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ServiceAddress {
  /** Always a loopback address for ports published on loopback (the default). */
  host: string;
  port: number;
}

export interface TestEnvironment {
  project: string;
  env: string;
  /** The labels every object of this environment carries (find them with `docker ps --filter label=…`). */
  labels: Record<string, string>;
  services: string[];
  /** `http://127.0.0.1:<published port>` of a service's container port (default: its first published port). */
  url(service: string, containerPort?: number): string;
  /** The host and port a service's container port is published on (default: its first published port). */
  address(service: string, containerPort?: number): ServiceAddress;
  /** Runs a command (argv, no shell) in a service's running container; never throws for a non-zero exit. */
  exec(service: string, argv: readonly string[], options?: { user?: string; workdir?: string; env?: Record<string, string> }): Promise<ExecResult>;
  /** The service's output so far (stdout and stderr interleaved), one line per line. */
  logs(service: string, options?: { tail?: number }): Promise<string>;
  /** Removes everything the environment owns (by its labels). Safe to call more than once. */
  stop(): Promise<void>;
  /** The same as `stop()`. */
  down(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export async function startEnvironment(options: StartEnvironmentOptions = {}): Promise<TestEnvironment> {
  const processEnv = options.processEnv ?? process.env;
  const timeoutMs = parseTimeout(options.timeout);
  if (options.project !== undefined && !PROJECT_NAME.test(options.project)) {
    throw new UsageError('BAD_PROJECT_NAME', `invalid project name "${options.project}"`, 'use lowercase letters, digits, - and _, starting with a letter or digit');
  }
  const suffix = randomBytes(4).toString('hex');
  const runId = `test-${suffix}`;
  const load = { cwd: options.dir ?? process.cwd(), file: options.file, env: options.env, profiles: options.profiles, processEnv };
  const engine = DockerEngine.fromEnv(processEnv);
  const emit = options.onEvent ?? (() => undefined);

  // Named before anything starts, so the reaper watches the exact labels `up` will write.
  let model: EnvironmentModel | undefined;
  const adapt = (loaded: EnvironmentModel): EnvironmentModel => {
    const derived = deriveEnvironment(loaded, { project: options.project ?? `${loaded.project}-test-${suffix}`, labels: { [LABEL.run]: runId } });
    model = options.ports === 'declared' ? { ...derived, services: loaded.services } : derived;
    return model;
  };
  const labels = labelsOf(adapt(await loadDefinition(load)), runId);
  checkWaitFor(options.waitFor, Object.keys(model!.services));
  const keepVolumes = options.keepVolumes ?? false;

  await engine.ping();
  const reaper = (options.reaper ?? !isTruthy(processEnv.ENVCTL_REAPER_DISABLED)) ? await startReaper({ labels, keepVolumes, processEnv }) : undefined;

  const teardown = async (): Promise<void> => {
    try {
      if (model) await removeEnvironment(model, engine, labels, keepVolumes);
    } finally {
      reaper?.release();
    }
  };

  const deadline = Date.now() + timeoutMs;
  const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let result: UpResult;
  try {
    result = await upEnvironment({ load, engine, removeOrphans: false, waitTimeoutMs: timeoutMs, emit, signal, now: Date.now, sleep, adapt });
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
  if (!result.ok || result.cancelled) {
    await teardown().catch(() => undefined);
    throw notReady(result, timeoutMs, options.signal?.aborted ?? false);
  }
  const containers = await engine.listContainers(labels);
  const handle = createHandle({ model: model!, engine, labels, containers, teardown, reaper });
  if (options.waitFor) {
    // Its own signal: the start's timeout signal ends the wait early, but the error must be the strategy's.
    const waitSignal = options.signal ?? new AbortController().signal;
    try {
      await runWaitStrategies(options.waitFor, { project: handle.project, engine, labels, services: handle.services, url: handle.url, address: handle.address, deadline, now: Date.now, sleep, signal: waitSignal });
    } catch (error) {
      await teardown().catch(() => undefined);
      throw error;
    }
  }
  return handle;
}

function createHandle(parts: { model: EnvironmentModel; engine: Engine; labels: Record<string, string>; containers: ObservedContainer[]; teardown: () => Promise<void>; reaper: ReaperHandle | undefined }): TestEnvironment {
  const { model, engine, labels, containers } = parts;
  const services = Object.keys(model.services);
  const knownService = (service: string): void => {
    if (!(service in model.services)) throw new UsageError('UNKNOWN_SERVICE', `no service "${service}" in ${model.project}`, `services: ${services.join(', ')}`);
  };
  const address = (service: string, containerPort?: number): ServiceAddress => {
    knownService(service);
    const own = containers.find((container) => container.service === service && !container.labels[LABEL.slot]);
    const published = (own?.ports ?? []).filter((port) => port.protocol === 'tcp');
    const declared = model.services[service]!.ports.map((port) => port.target);
    const ordered = [...published].sort((a, b) => declared.indexOf(a.target) - declared.indexOf(b.target) || a.target - b.target);
    const port = containerPort === undefined ? ordered[0] : ordered.find((candidate) => candidate.target === containerPort);
    if (!port) {
      const which = containerPort === undefined ? 'no published TCP port' : `container port ${containerPort} is not published`;
      throw new UsageError('NO_PUBLISHED_PORT', `service ${service}: ${which}`, `publish it in the definition (ports: ["${containerPort ?? 3000}"]); published: ${ordered.map((candidate) => candidate.target).join(', ') || 'none'}`);
    }
    const host = port.hostIp === '' || port.hostIp === '0.0.0.0' ? '127.0.0.1' : port.hostIp === '::' ? '::1' : port.hostIp;
    return { host, port: port.published };
  };
  const running = async (service: string): Promise<ObservedContainer> => {
    knownService(service);
    const current = await engine.listContainers({ ...labels, [LABEL.service]: service });
    const target = current.find((container) => !container.labels[LABEL.slot] && container.state === 'running');
    if (!target) throw new WorkFailedError('NOT_RUNNING', `service ${service} is not running`, 'it may have exited: read env.logs(service)');
    return target;
  };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= parts.teardown());
  return {
    project: model.project,
    env: model.env,
    labels,
    services,
    address,
    url(service, containerPort) {
      const { host, port } = address(service, containerPort);
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    async exec(service, argv, execOptions = {}) {
      if (argv.length === 0) throw new UsageError('NO_COMMAND', 'no command given', 'pass the command as an argv array, e.g. ["sh", "-c", "echo hi"]');
      const target = await running(service);
      const stdout = collect();
      const stderr = collect();
      const exitCode = await engine.exec(target.id, { command: [...argv], tty: false, stdin: undefined, stdout: stdout.stream, stderr: stderr.stream, user: execOptions.user, workdir: execOptions.workdir, env: execOptions.env });
      return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
    },
    async logs(service, logOptions = {}) {
      const target = await running(service).catch(async () => {
        // A container that exited still has its logs: that is when they matter most.
        const all = await engine.listContainers({ ...labels, [LABEL.service]: service });
        const any = all.find((container) => !container.labels[LABEL.slot]);
        if (!any) throw new WorkFailedError('NOT_RUNNING', `service ${service} has no container`, 'was the environment stopped?');
        return any;
      });
      const lines = await engine.containerLogs(target.id, logOptions.tail === undefined ? {} : { tail: logOptions.tail });
      return lines.map((line) => line.text).join('\n');
    },
    stop,
    down: stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Removes by labels: `down` for what the model names, then anything else carrying the labels (a stray created mid-way). */
async function removeEnvironment(model: EnvironmentModel, engine: Engine, labels: Record<string, string>, keepVolumes: boolean): Promise<void> {
  await downEnvironment({ model, engine, volumes: !keepVolumes, emit: () => undefined, now: Date.now });
  for (const container of await engine.listContainers(labels)) await engine.removeContainer(container.id);
  for (const network of await engine.listNetworks(labels)) await engine.removeNetwork(network.name);
  if (!keepVolumes) for (const volume of await engine.listVolumes(labels)) await engine.removeVolume(volume.name);
}

function labelsOf(model: EnvironmentModel, runId: string): Record<string, string> {
  return { ...environmentLabels(model.project, model.env), [LABEL.run]: runId };
}

function notReady(result: UpResult, timeoutMs: number, cancelledByCaller: boolean): WorkFailedError {
  const failed = result.services.filter((outcome) => outcome.status === 'failed');
  if (result.cancelled && failed.length === 0) {
    return cancelledByCaller
      ? new WorkFailedError('CANCELLED', `${result.project}: start cancelled; what was created has been removed`)
      : new WorkFailedError('NOT_READY', `${result.project}: not ready within ${timeoutMs / 1000}s; what was created has been removed`, 'raise `timeout`, or look at the services with `onEvent`');
  }
  const details = failed.map((outcome) => `${outcome.service}: ${outcome.detail}${outcome.logTail.length > 0 ? `\n  last log lines:\n${outcome.logTail.map((line) => `    ${line}`).join('\n')}` : ''}`);
  return new WorkFailedError('NOT_READY', `${result.project}: the environment did not become ready\n${details.join('\n')}`, 'fix the failing service; everything that was created has been removed');
}

function parseTimeout(timeout: number | string | undefined): number {
  if (timeout === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof timeout === 'number') {
    if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('BAD_TIMEOUT', `invalid timeout ${timeout}`, 'give milliseconds above 0, or a duration such as 90s');
    return timeout;
  }
  try {
    return parseDurationMs(timeout);
  } catch {
    throw new UsageError('BAD_TIMEOUT', `invalid timeout "${timeout}"`, 'give a duration such as 90s or 2m, or milliseconds');
  }
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
