/**
 * `envctl doctor`: probe the machine (Node, engine, base images, proxy bundle, disk, the definition
 * here and its host ports, tmux) and judge each finding with checks.ts. Every probe is injected, so
 * the whole run is testable without Docker; every engine probe is bounded by `timeoutMs`, and a
 * probe that throws becomes a failed check, never a crash.
 */
import { DefinitionError, EnvctlError } from '../errors.js';
import type { EnvironmentModel } from '../definition/model.js';
import type { EngineInfo, ObservedContainer } from '../engine/types.js';
import { environmentLabels } from '../labels.js';
import { sanitizeLine } from '../ui/sanitize.js';
import {
  BASE_IMAGES,
  checkBaseImages,
  checkDefinition,
  checkDiskSpace,
  checkEngine,
  checkEngineVersion,
  checkNode,
  checkPorts,
  checkProxyBundle,
  checkTmux,
  type DefinitionProbe,
  type DoctorCheck,
  type DoctorStatus,
  type Probed,
  type ProbedPort,
} from './checks.js';

/** The part of the engine the doctor reads. */
export interface DoctorEngine {
  ping(options?: { detail?: boolean }): Promise<EngineInfo>;
  existingImages(refs: readonly string[]): Promise<ReadonlySet<string>>;
  listContainers(labels: Record<string, string>): Promise<ObservedContainer[]>;
  dockerRootDir(): Promise<string>;
}

export interface DoctorProbes {
  node: { version: string; execPath: string };
  /** The folder the doctor runs in (the definition lookup starts here). */
  cwd: string;
  /** The engine DOCKER_HOST names; throws (EnvctlError) when DOCKER_HOST itself is unusable. */
  engine(): DoctorEngine;
  /** Throws UsageError NO_DEFINITION when there is none here, DefinitionError when it is invalid. */
  loadDefinition(): Promise<EnvironmentModel>;
  proxyBundlePath: string;
  fileSize(path: string): Promise<number>;
  /** Free bytes for an unprivileged user on the file system holding `path`. */
  freeBytes(path: string): Promise<number>;
  /** Undefined when the port can be bound now, else why not. */
  probePort(host: string, port: number, protocol: 'tcp' | 'udp'): Promise<string | undefined>;
  /** Absolute path of an executable on PATH, or undefined. */
  findExecutable(name: string): Promise<string | undefined>;
  /** `up`'s warning for engines older than 28; undefined when it does not apply. */
  loopbackWarning(version: string): string | undefined;
}

export interface DoctorOptions {
  probes: DoctorProbes;
  /** Upper bound for each engine and file-system probe (ms). */
  timeoutMs: number;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { probes } = options;
  const bounded = <T>(what: string, run: () => Promise<T>) => probe(what, run, options.timeoutMs);

  const engine = await bounded('the engine', async () => probes.engine());
  const engineInfo: Probed<EngineInfo> = engine.ok ? await bounded('ping the engine', () => engine.value.ping({ detail: true })) : engine;
  const reachable = engine.ok && engineInfo.ok ? engine.value : undefined;

  const [images, rootDir, definition, bundleSize, tmux] = await Promise.all([
    reachable ? bounded('list the images', () => reachable.existingImages(BASE_IMAGES)) : Promise.resolve(undefined),
    reachable ? bounded('read the engine info', () => reachable.dockerRootDir()) : Promise.resolve(undefined),
    loadDefinitionProbe(probes),
    bounded('read the proxy bundle', () => probes.fileSize(probes.proxyBundlePath)),
    probes.findExecutable('tmux').catch(() => undefined),
  ]);
  const model = definition.model;
  const projectDir = model?.projectDir ?? probes.cwd;

  const [dockerDisk, projectDisk, ports] = await Promise.all([
    dockerDiskProbe(engineInfo, rootDir, (path) => bounded(`read the free space of ${path}`, () => probes.freeBytes(path))),
    bounded(`read the free space of ${projectDir}`, () => probes.freeBytes(projectDir)),
    model ? probePorts(model, reachable, probes, bounded) : Promise.resolve(undefined),
  ]);

  const checks = [
    checkNode(probes.node),
    checkEngine(engineInfo),
    checkEngineVersion(engineInfo, probes.loopbackWarning),
    checkBaseImages(engineInfo, images),
    checkProxyBundle(probes.proxyBundlePath, bundleSize),
    checkDiskSpace({ id: 'disk-docker', name: 'disk (docker root)', path: rootDir?.ok ? rootDir.value : '', freeUp: '`docker system df` shows what uses it; `docker image prune` and `docker builder prune` free it' }, dockerDisk),
    checkDiskSpace({ id: 'disk-project', name: 'disk (project)', path: projectDir, freeUp: `free space on the file system that holds ${projectDir}` }, projectDisk),
    checkDefinition(definition.probe),
    checkPorts(ports),
    checkTmux(tmux),
  ];
  return checks.map(sanitizeCheck);
}

/** Exit 1 when a check failed; warnings, info and skipped checks do not fail the doctor. */
export function doctorFailed(checks: readonly DoctorCheck[]): boolean {
  return checks.some((check) => check.status === 'fail');
}

const MARK: Record<DoctorStatus, string> = { ok: '✔', warn: '⚠', fail: '✖', info: '•', skipped: '–' };

/** One line per check (`✔ name: detail`), and `  fix: …` under each that has one. */
export function renderDoctorText(checks: readonly DoctorCheck[]): string {
  return checks.map((check) => `${MARK[check.status]} ${check.name}: ${check.detail}${check.fix ? `\n  fix: ${check.fix}` : ''}\n`).join('');
}

async function probe<T>(what: string, run: () => Promise<T>, timeoutMs: number): Promise<Probed<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`could not ${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return { ok: true, value };
  } catch (error) {
    return failure(error);
  } finally {
    clearTimeout(timer);
  }
}

function failure(error: unknown): { ok: false; error: string; hint?: string | undefined } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof EnvctlError) return { ok: false, error: message, hint: error.hint };
  // A bare errno (`ENOENT`) says more with its code than with Node's long message.
  return { ok: false, error: code && !message.includes(code) ? `${code}: ${message}` : message };
}

async function loadDefinitionProbe(probes: DoctorProbes): Promise<{ probe: DefinitionProbe; model: EnvironmentModel | undefined }> {
  try {
    const model = await probes.loadDefinition();
    return {
      probe: { kind: 'loaded', file: model.file, project: model.project, env: model.env, services: Object.keys(model.services).length, warnings: model.warnings.length },
      model,
    };
  } catch (error) {
    if (error instanceof EnvctlError && error.code === 'NO_DEFINITION') return { probe: { kind: 'none', cwd: probes.cwd }, model: undefined };
    const diagnostics = error instanceof DefinitionError ? error.diagnostics : [];
    const problem = failure(error);
    return { probe: { kind: 'invalid', message: problem.error, hint: problem.hint, diagnostics }, model: undefined };
  }
}

function dockerDiskProbe(
  engineInfo: Probed<EngineInfo>,
  rootDir: Probed<string> | undefined,
  freeBytes: (path: string) => Promise<Probed<number>>,
): Promise<Probed<number> | { notHere: string } | undefined> {
  if (!engineInfo.ok || rootDir === undefined) return Promise.resolve(undefined);
  if (!rootDir.ok) return Promise.resolve({ notHere: `cannot ask the engine where it keeps its data: ${rootDir.error}` });
  // Only a local socket means the engine's root dir is a path on this machine.
  if (!engineInfo.value.endpoint.startsWith('unix://')) return Promise.resolve({ notHere: `${rootDir.value} is on the engine's host (${engineInfo.value.endpoint}); not readable from here` });
  return freeBytes(rootDir.value);
}

async function probePorts(
  model: EnvironmentModel,
  engine: DoctorEngine | undefined,
  probes: DoctorProbes,
  bounded: <T>(what: string, run: () => Promise<T>) => Promise<Probed<T>>,
): Promise<ProbedPort[]> {
  // Ports the environment's own containers publish are taken by design: `up` keeps or replaces them.
  const containers = engine ? await bounded('list the environment', () => engine.listContainers(environmentLabels(model.project, model.env))) : undefined;
  const held = new Set((containers?.ok ? containers.value : []).flatMap((container) => container.ports.map((port) => `${port.protocol}/${port.published}`)));
  const result: ProbedPort[] = [];
  for (const service of Object.values(model.services)) {
    for (const port of service.ports) {
      if (port.published === undefined) continue;
      const heldByEnvironment = held.has(`${port.protocol}/${port.published}`);
      const problem = heldByEnvironment ? undefined : await probes.probePort(port.hostIp, port.published, port.protocol);
      result.push({ service: service.name, hostIp: port.hostIp, published: port.published, protocol: port.protocol, heldByEnvironment, problem });
    }
  }
  return result;
}

/** Details carry engine and file-system text: never let it send escapes to the terminal. */
function sanitizeCheck(check: DoctorCheck): DoctorCheck {
  return { ...check, detail: sanitizeLine(check.detail), ...(check.fix === undefined ? {} : { fix: sanitizeLine(check.fix) }) };
}
