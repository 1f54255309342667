/**
 * `envctl release …`: start a release (images, containers, proxy, first step, then the controller),
 * resume one whose controller stopped, and the operations on a release another process may drive
 * (approve, abort: requests the controller takes; rollback and gc after the end: weight flips and
 * removals done here). One controller per service at a time: it holds the release lock.
 */
import { hashBuildInputs, builtImageRef } from '../definition/build-inputs.js';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import { notify } from '../pipeline/notify.js';
import type { ReleaseConfig } from '../definition/schema.js';
import { EnvironmentError, ExitCode, UsageError } from '../errors.js';
import { buildServiceImage } from '../engine/build-image.js';
import type { Engine } from '../engine/engine.js';
import type { Target } from '../cli/target-flag.js';
import { swarmRuntime } from '../swarm/release-runtime.js';
import { stackSelector } from '../swarm/spec.js';
import type { SwarmEngine } from '../swarm/types.js';
import { createAdminClient } from '../proxy/admin-client.js';
import { weightsFileOf, writePersistedWeights } from '../proxy/persisted-weights.js';
import type { Weights } from '../proxy/types.js';
import { seedFromString } from './analysis/rng.js';
import { announce, CANARY_ONLY, PROD_ONLY, runController, stepWeights, type ReleaseNotice, type ReleaseOutcome } from './controller.js';
import { openEventLog } from './recording/files.js';
import { ensureProxyImage } from './proxy-image.js';
import { detectTarget, localRuntime, type ReleaseRuntime } from './runtime.js';
import { lockEnvironment, type HeldLock } from '../state/lock.js';
import { FileHashCache } from '../state/hash-cache.js';
import { crashPoint } from '../fault.js';
import {
  ACTIVE_STATUSES,
  assertReleaseId,
  createReleaseDir,
  listReleases,
  newReleaseId,
  readConfigLock,
  readReleaseState,
  releaseDir,
  RELEASE_FILES,
  writeConfigLock,
  writeControlRequest,
  writeReleaseState,
  type ControlRequest,
  type ReleaseConfigLock,
  type ReleaseState,
} from './store.js';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ReleaseRunOptions {
  engine: Engine;
  /** The swarm side of the engine: releases of an environment deployed with `--target swarm` need it. */
  swarm?: SwarmEngine | undefined;
  notify: (notice: ReleaseNotice) => void;
  now: () => Date;
  signal: AbortSignal;
  confirm: ((question: string, signal: AbortSignal) => Promise<boolean>) | undefined;
  pollMs?: number;
  /** Actor named in the files for requests made by this process. */
  actor: string;
  /**
   * Send the definition's `pipeline.notify` when the release ends (the CLI commands; the pipeline's
   * release stage does not: the pipeline notifies once for the whole run).
   */
  notifyOnEnd?: boolean;
}

/** `pipeline.notify` for a release that ended: its summary, as the pipeline sends one per run. */
async function notifyEnd(model: EnvironmentModel, options: ReleaseRunOptions, outcome: ReleaseOutcome, startedAt: string): Promise<ReleaseOutcome> {
  const config = model.pipeline?.notify;
  if (!options.notifyOnEnd || !config || ACTIVE_STATUSES.has(outcome.status)) return outcome;
  const status = outcome.status === 'promoted' ? 'passed' : outcome.exitCode === ExitCode.cancelled ? 'cancelled' : 'failed';
  const durationMs = Math.max(0, options.now().getTime() - Date.parse(startedAt));
  const result = await notify(
    config,
    {
      runId: outcome.id,
      project: model.project,
      env: model.env,
      status,
      ...(status === 'failed' ? { failedStage: 'release', failedCheck: outcome.message } : {}),
      startedAt,
      durationMs,
      stages: [{ name: 'release', status: status === 'passed' ? 'passed' : 'failed', durationMs }],
      recordPath: releaseDir(model.projectDir, outcome.id),
    },
    { cwd: model.pipelineDir, env: process.env, timeoutMs: 10_000, signal: AbortSignal.timeout(30_000) },
  );
  for (const sent of result.sent.filter((entry) => !entry.ok)) options.notify({ release: outcome.id, event: 'warning', message: `notification by ${sent.channel} failed: ${sent.detail}`, step: 0, weights: PROD_ONLY });
  return outcome;
}

export interface StartOptions extends ReleaseRunOptions {
  load: LoadOptions;
  /** `--image TAG`: an image the engine has. */
  image: string | undefined;
  /** `--build` (default for a service with `build:`). */
  build: boolean;
  buildArgs: Record<string, string>;
  random: () => number;
  onBuildLine: (line: string) => void;
  /** `--target`; default: where the environment is deployed (containers here, else this swarm's stack). */
  target?: Target | undefined;
}

/** The runtime of a target (a release's recorded target, or the one a new release detects). */
export function runtimeFor(options: Pick<ReleaseRunOptions, 'engine' | 'swarm'>, target: Target | undefined): ReleaseRuntime {
  if (target !== 'swarm') return localRuntime(options.engine);
  if (!options.swarm) throw new EnvironmentError('NO_SWARM_ENGINE', 'this release runs on swarm, but no swarm engine was given', 'run it through the envctl CLI');
  return swarmRuntime(options.engine, options.swarm);
}

export interface ReleaseContext {
  model: EnvironmentModel;
  config: ReleaseConfig;
  service: ServiceModel;
}

/** The definition's release section and its service, or a usage error saying what is missing. */
export function releaseContext(model: EnvironmentModel): ReleaseContext {
  const config = model.pipeline?.release;
  if (!config) {
    throw new UsageError('NO_RELEASE_SECTION', `${model.file} has no pipeline.release section`, 'add `pipeline: { release: { service: web } }` (see the README’s definition reference)');
  }
  const service = model.services[config.service];
  if (!service) throw new UsageError('RELEASE_SERVICE_UNKNOWN', `pipeline.release.service "${config.service}" is not an active service of ${model.file}`, `one of: ${Object.keys(model.services).join(', ')}`);
  return { model, config, service };
}

/** The container port the proxy forwards to: the first published port's target, else the first `expose`. */
export function targetPortOf(service: ServiceModel): number {
  const port = service.ports[0]?.target ?? Number.parseInt(service.expose[0] ?? '', 10);
  if (!Number.isInteger(port) || port <= 0) {
    throw new UsageError('RELEASE_NO_PORT', `service "${service.name}" publishes no port and exposes none, so the release proxy does not know where to send requests`, `add \`ports\` or \`expose\` to service "${service.name}"`);
  }
  return port;
}

async function lockRelease(model: EnvironmentModel, service: string, command: string, now: () => Date): Promise<HeldLock> {
  return lockEnvironment({ prefix: `${model.prefix}.release.${service}`, command, now });
}

// ---- start ----------------------------------------------------------------------------------------

export async function startRelease(options: StartOptions): Promise<ReleaseOutcome> {
  const model = await loadDefinition(options.load);
  const { config, service } = releaseContext(model);
  const targetPort = targetPortOf(service);
  const target = options.target ?? (await detectTarget(options.engine, options.swarm, model, stackSelector(model)));
  const runtime = runtimeFor(options, target);
  await runtime.check();
  const lock = await lockRelease(model, service.name, 'envctl release start', options.now);
  try {
    const releases = (await listReleases(model.projectDir)).filter((release) => release.project === model.project && release.env === model.env && release.service === service.name && (release.target ?? 'local') === target);
    for (const release of releases.filter((candidate) => ACTIVE_STATUSES.has(candidate.status))) {
      if (await proxyGone(runtime, release)) await markOrphaned(runtime, model.projectDir, release, options.now);
    }
    const active = releases.find((release) => ACTIVE_STATUSES.has(release.status));
    if (active) {
      throw new UsageError('RELEASE_IN_PROGRESS', `release ${active.id} of ${service.name} is still ${active.status} (step ${active.step})`, `continue it with \`envctl release resume ${active.id}\` or end it with \`envctl release abort ${active.id}\``);
    }
    const prod = await runtime.production(model, service.name, releases);
    const canaryImage = await canaryImageFor(options, model, service, prod.image);

    const id = newReleaseId(options.now(), options.random);
    const dir = await createReleaseDir(model.projectDir, id);
    const seed = seedFromString(config.load.seed ?? id);
    const lockFile: ReleaseConfigLock = { id, service: service.name, targetPort, seed, config, images: { prod: prod.image, canary: canaryImage } };
    await writeConfigLock(model.projectDir, lockFile);
    const at = options.now().toISOString();
    const state: ReleaseState = {
      id,
      project: model.project,
      env: model.env,
      service: service.name,
      ...(target === 'swarm' ? { target } : {}),
      status: 'preparing',
      step: 0,
      weights: PROD_ONLY,
      images: lockFile.images,
      containers: { proxy: null, prod: { id: prod.id, name: prod.name }, canary: null, baseline: null },
      proxy: null,
      stepStartsNs: {},
      gate: null,
      outcome: null,
      startedAt: at,
      updatedAt: at,
      retainUntil: null,
      endNs: null,
      pending: null,
      approvedStep: null,
      lastSeq: 0,
    };
    await writeReleaseState(model.projectDir, state);
    const events = await openEventLog(join(dir, RELEASE_FILES.events));
    const record = async (event: string, extra: Record<string, unknown>, message: string) => {
      state.updatedAt = options.now().toISOString();
      const line = { release: id, event, at: state.updatedAt, step: state.step, weights: state.weights, status: state.status, ...extra };
      await events.append(line);
      await writeReleaseState(model.projectDir, state);
      options.notify({ release: id, event, message, step: state.step, weights: state.weights });
      // One after the other, so the receiver hears the transitions in order.
      webhooks = webhooks.then(() => announce(config, { ...line, message }, options.notify));
    };
    let webhooks: Promise<void> = Promise.resolve();
    try {
      await record('started', { images: lockFile.images, actor: options.actor, config: redactedConfig(config) }, `release ${id} of ${service.name}: ${canaryImage} against ${prod.image}`);
      await retirePrevious(runtime, model, releases, prod.id, options.now);

      const proxyImage = await ensureProxyImage(options.engine, { signal: options.signal, onLine: options.onBuildLine });
      // Canary and fresh baseline start together (canary.md §3.1), so neither is warmer.
      const canary = await runtime.createSlot(model, service, 'canary', canaryImage, id, prod);
      state.containers.canary = canary;
      const baseline = await runtime.createSlot(model, service, 'baseline', prod.image, id, prod);
      state.containers.baseline = baseline;
      await writeReleaseState(model.projectDir, state);
      crashPoint('release-after-slots');
      await runtime.startSlots([canary, baseline]);

      const startProxy = async (hostPort: number) =>
        runtime.startProxy({
          model,
          service,
          releaseId: id,
          releaseDir: dir,
          image: proxyImage,
          upstreams: { canary: { host: canary.name, port: targetPort }, baseline: { host: baseline.name, port: targetPort }, prod: { host: prod.name, port: targetPort } },
          sticky: config.sticky,
          hostPort,
          signal: options.signal,
        });
      // A fixed host port, so a proxy the engine restarts (crash, engine restart) keeps its address;
      // a port we picked that got taken in the meantime is picked again, once.
      // Without `release.port`, the previous release's proxy port (retired above), so the way in
      // stays the same from release to release.
      const previousPort = releases.find((release) => release.proxy !== null)?.proxy?.hostPort;
      let proxy;
      try {
        proxy = await startProxy(config.port ?? previousPort ?? (await freeLoopbackPort()));
      } catch (error) {
        if (config.port !== undefined || (error as { code?: string }).code !== 'PROXY_PORT_IN_USE') throw error;
        proxy = await startProxy(await freeLoopbackPort());
      }
      state.containers.proxy = { id: proxy.containerId, name: proxy.name };
      state.proxy = { hostPort: proxy.hostPort, adminSocket: proxy.adminSocket };
      await record('proxy', { hostPort: proxy.hostPort }, `proxy on http://127.0.0.1:${proxy.hostPort} (all traffic to production until the first step)`);
      if (target === 'swarm') {
        // Swarm publishes on every interface of the node; the local proxy binds 127.0.0.1 only.
        options.notify({ release: id, event: 'warning', message: `the proxy's port ${proxy.hostPort} is published on every interface of this node (swarm cannot bind 127.0.0.1): firewall it or set release.port to one that is`, step: 0, weights: PROD_ONLY });
      }
      crashPoint('release-after-proxy');

      try {
        await runtime.waitReady(canary, config.readyTimeout, options.signal);
      } catch (error) {
        if (options.signal.aborted) throw error;
        await removeSlots(runtime, state);
        state.status = 'rolled-back';
        state.outcome = `the canary did not become ready: ${(error as Error).message}`;
        await record('rolled-back', { actor: 'controller', reason: state.outcome }, `rolled-back: ${state.outcome}`);
        return await notifyEnd(model, options, { id, status: state.status, exitCode: ExitCode.failed, message: `rolled-back: ${state.outcome}`, verdicts: [], proxyPort: proxy.hostPort }, state.startedAt);
      }
      if (state.containers.baseline) await runtime.waitReady(state.containers.baseline, config.readyTimeout, options.signal);

      const admin = createAdminClient(proxy.adminSocket);
      const weights = stepWeights(config, 1);
      const applied = await admin.setWeights(weights, 1);
      crashPoint('release-after-step-weights');
      Object.assign(state, { status: 'running', step: 1, weights, stepStartsNs: { 1: applied.appliedNs } });
      await record('step', { tMonoNs: applied.appliedNs, actor: 'controller' }, `step 1/${config.steps.length}: canary ${weights.canary}% · baseline ${weights.baseline}% · prod ${weights.prod}%`);
    } catch (error) {
      // Nothing half-made is left: the release's containers go (found by label, so also one
      // created just before the failure), production keeps serving.
      await removeSlots(runtime, state, true);
      await runtime.removeRelease(model, id);
      state.status = options.signal.aborted ? 'aborted' : 'failed';
      state.outcome = options.signal.aborted ? 'cancelled while preparing' : `could not start: ${(error as Error).message}`;
      await record(state.status, { actor: 'controller', reason: state.outcome }, `${state.status}: ${state.outcome}`).catch(() => undefined);
      throw error;
    } finally {
      await events.close();
      await webhooks;
    }
    const outcome = await runController({ ...controllerOptions(options, runtime, model.projectDir), lock: lockFile, state, admin: createAdminClient(state.proxy!.adminSocket), fresh: true });
    return await notifyEnd(model, options, outcome, state.startedAt);
  } finally {
    await lock.release();
  }
}

function controllerOptions(options: ReleaseRunOptions, runtime: ReleaseRuntime, projectDir: string) {
  return {
    runtime,
    projectDir,
    notify: options.notify,
    now: options.now,
    signal: options.signal,
    confirm: options.confirm,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
  };
}

/** The config as written to events and webhooks: a webhook URL's path and credentials are secrets. */
function redactedConfig(config: ReleaseConfig): ReleaseConfig {
  const webhook = config.notify.webhook;
  return webhook ? { ...config, notify: { webhook: `${new URL(webhook).origin}/…` } } : config;
}

/** Whether the service has a running production version (on this engine) to release against (`envctl up` ran). */
export async function productionRunning(engine: Engine, model: EnvironmentModel, service: string): Promise<boolean> {
  const releases = (await listReleases(model.projectDir)).filter((release) => release.project === model.project && release.env === model.env && release.service === service && (release.target ?? 'local') === 'local');
  return localRuntime(engine).production(model, service, releases).then(
    () => true,
    (error: unknown) => {
      if ((error as { code?: string }).code === 'RELEASE_NO_PRODUCTION') return false;
      throw error;
    },
  );
}

async function canaryImageFor(options: StartOptions, model: EnvironmentModel, service: ServiceModel, prodImage: string): Promise<string> {
  if (options.image !== undefined) {
    const present = await options.engine.existingImages([options.image]);
    if (!present.has(options.image)) {
      throw new UsageError('IMAGE_NOT_FOUND', `the engine has no image ${options.image}`, 'build or load it first (`docker build -t …`), or release from the definition with --build');
    }
    return options.image;
  }
  if (!service.build) {
    throw new UsageError('NO_CANARY_IMAGE', `service "${service.name}" has no build: in the definition, so there is nothing to build`, 'name the new version with --image TAG');
  }
  const build = { ...service.build, args: { ...service.build.args, ...options.buildArgs } };
  const cache = await FileHashCache.load(model.projectDir, () => options.now().getTime());
  const { digest } = await hashBuildInputs(build, cache);
  await cache.save().catch(() => undefined);
  const ref = builtImageRef(model.imageProject, service.name, digest);
  if (!(await options.engine.existingImages([ref])).has(ref)) {
    options.notify({ release: '', event: 'build', message: `building ${ref}`, step: 0, weights: PROD_ONLY });
    await buildServiceImage(options.engine, model, { ...service, build }, ref, options.onBuildLine, options.signal);
  }
  if (ref === prodImage) options.notify({ release: '', event: 'warning', message: `the new image ${ref} is the one production runs: this release compares a version with itself`, step: 0, weights: PROD_ONLY });
  return ref;
}

/**
 * Before a new release: earlier releases' proxies go (the new one takes over), and the version a
 * promoted release kept for rollback is decommissioned ("until the next release").
 */
async function retirePrevious(runtime: ReleaseRuntime, model: EnvironmentModel, releases: readonly ReleaseState[], prodId: string, now: () => Date): Promise<void> {
  for (const release of releases) {
    // A proxy that cannot be removed still holds its port and its socket: the new release stops here.
    if (release.containers.proxy) await runtime.remove(release.containers.proxy);
    let patch: Partial<ReleaseState> = { containers: { ...release.containers, proxy: null }, proxy: null };
    if (release.status === 'promoted' && release.containers.prod.id !== prodId) {
      await decommission(runtime, model, release);
      patch = { ...patch, status: 'decommissioned', retainUntil: null };
    }
    if (release.containers.proxy || patch.status) await writeReleaseState(model.projectDir, { ...release, ...patch, updatedAt: now().toISOString() });
  }
}

/** A port free on 127.0.0.1 right now (the engine publishes the proxy there). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when the release's proxy (container or service) no longer exists (e.g. `envctl down` removed it). */
async function proxyGone(runtime: ReleaseRuntime, release: ReleaseState): Promise<boolean> {
  if (!release.containers.proxy) return release.status !== 'preparing';
  return runtime.gone(release.containers.proxy);
}

/** A release whose proxy is gone cannot be driven: what is left of it goes, and it is marked failed. */
async function markOrphaned(runtime: ReleaseRuntime, projectDir: string, release: ReleaseState, now: () => Date): Promise<void> {
  await removeSlots(runtime, release, true);
  Object.assign(release, { status: 'failed', outcome: 'its proxy container is gone (removed by `envctl down`?); the rest of the release was removed', gate: null, updatedAt: now().toISOString() });
  await writeReleaseState(projectDir, release);
}

/**
 * Removes the version a promoted release kept for rollback, when it is a release's container (an
 * earlier canary). The service's own container is `envctl up`'s: it is left as it is (idle), and
 * `up`/`down` keep managing it.
 */
async function decommission(runtime: ReleaseRuntime, model: EnvironmentModel, release: ReleaseState): Promise<void> {
  if (release.containers.prod.name === runtime.ownName(model, release.service)) return;
  // A container or service already gone is fine (remove ignores not-found); any other failure
  // leaves the release promoted, so the next gc tries again instead of forgetting a running version.
  await runtime.remove(release.containers.prod);
}

async function removeSlots(runtime: ReleaseRuntime, state: ReleaseState, includeProxy = false): Promise<void> {
  const slots: Array<'canary' | 'baseline' | 'proxy'> = includeProxy ? ['canary', 'baseline', 'proxy'] : ['canary', 'baseline'];
  for (const slot of slots) {
    const container = state.containers[slot];
    if (!container) continue;
    await runtime.remove(container).catch(() => undefined);
    state.containers[slot] = null;
  }
  if (includeProxy) state.proxy = null;
}

// ---- the operations on an existing release ----------------------------------------------------------

export interface ExistingOptions extends ReleaseRunOptions {
  load: LoadOptions;
  /** Release id; default: the latest release of the definition's release service. */
  id: string | undefined;
}

/** The release named, or the latest one of the definition's release service. */
export async function findRelease(model: EnvironmentModel, id: string | undefined): Promise<ReleaseState> {
  if (id !== undefined) {
    assertReleaseId(id);
    const state = await readReleaseState(model.projectDir, id);
    if (state.project !== model.project || state.env !== model.env) {
      throw new UsageError('RELEASE_OTHER_ENVIRONMENT', `release ${id} belongs to ${state.project} (${state.env}), not ${model.project} (${model.env})`, 'pass the same --env/--project-name it was started with');
    }
    return state;
  }
  const service = model.pipeline?.release?.service;
  const latest = (await listReleases(model.projectDir)).find((release) => release.project === model.project && release.env === model.env && (service === undefined || release.service === service));
  if (!latest) throw new UsageError('NO_RELEASE', `no release of ${model.project} (${model.env}) yet`, 'start one with `envctl release start`');
  return latest;
}

/** Continues a release whose controller stopped (killed, or exit 4 at a gate), with an optional request. */
export async function resumeRelease(options: ExistingOptions, request?: ControlRequest): Promise<ReleaseOutcome> {
  const model = await loadDefinition(options.load);
  const found = await findRelease(model, options.id);
  if (!ACTIVE_STATUSES.has(found.status)) {
    throw new UsageError('RELEASE_ENDED', `release ${found.id} has ended (${found.status}${found.outcome ? `: ${found.outcome}` : ''})`, found.status === 'promoted' ? '`envctl release rollback` flips back to the previous version' : 'start a new one with `envctl release start`');
  }
  if (request?.action === 'approve' && found.status !== 'gate') {
    // An approval is for a gate that waits; kept for a later one it would approve what nobody saw.
    throw new UsageError('RELEASE_NOT_AT_GATE', `release ${found.id} is not waiting at a gate (${found.status}, step ${found.step})`, '`envctl release status` shows where it is; `envctl release resume` continues a stopped one');
  }
  let lock: HeldLock;
  try {
    lock = await lockRelease(model, found.service, 'envctl release resume', options.now);
  } catch (error) {
    if (request && (error as { code?: string }).code === 'LOCKED') {
      // A controller runs: it takes the request within a second.
      await writeControlRequest(model.projectDir, found.id, request);
      return waitForOutcome(model.projectDir, found.id, request, options);
    }
    throw error;
  }
  try {
    const state = await readReleaseState(model.projectDir, found.id);
    const runtime = runtimeFor(options, state.target);
    if (state.status === 'preparing' || !state.proxy) {
      await removeSlots(runtime, state, true);
      await runtime.removeRelease(model, state.id);
      state.status = 'failed';
      state.outcome = 'interrupted while preparing; its containers were removed';
      await writeReleaseState(model.projectDir, state);
      return { id: state.id, status: state.status, exitCode: ExitCode.failed, message: `failed: ${state.outcome}`, verdicts: [], proxyPort: undefined };
    }
    if (await proxyGone(runtime, state)) {
      await markOrphaned(runtime, model.projectDir, state, options.now);
      const message = `failed: ${state.outcome ?? ''}`;
      if (request?.action === 'abort') return { id: state.id, status: state.status, exitCode: ExitCode.failed, message, verdicts: [], proxyPort: undefined };
      throw new EnvironmentError('RELEASE_PROXY_GONE', `release ${state.id} cannot continue: ${state.outcome ?? ''}`, 'start a new release with `envctl release start`');
    }
    if (request?.action === 'abort' && !(await createAdminClient(state.proxy.adminSocket, { timeoutMs: 2000 }).healthz())) {
      // The proxy exists but does not answer (stopped, hung): end the release without it. Its
      // persisted weights say production only, which it serves when it runs again.
      const dir = releaseDir(model.projectDir, state.id);
      await writePersistedWeights(weightsFileOf(join(dir, RELEASE_FILES.requests)), { weights: PROD_ONLY, step: (await readConfigLock(model.projectDir, state.id)).config.steps.length + 1 }, options.now());
      await removeSlots(runtime, state);
      Object.assign(state, { status: 'aborted', weights: PROD_ONLY, gate: null, pending: null, outcome: `aborted by ${options.actor} while its proxy did not answer; the proxy serves production only when it runs again`, updatedAt: options.now().toISOString() });
      await writeReleaseState(model.projectDir, state);
      return { id: state.id, status: state.status, exitCode: ExitCode.failed, message: `aborted: ${state.outcome}`, verdicts: [], proxyPort: state.proxy?.hostPort };
    }
    const lockFile = await readConfigLock(model.projectDir, state.id);
    const outcome = await runController({ ...controllerOptions(options, runtime, model.projectDir), lock: lockFile, state, admin: createAdminClient(state.proxy.adminSocket), initialRequest: request });
    return await notifyEnd(model, options, outcome, state.startedAt);
  } finally {
    await lock.release();
  }
}

/** After handing a request to a running controller: the state it reaches (or the request still pending). */
async function waitForOutcome(projectDir: string, id: string, request: ControlRequest, options: ReleaseRunOptions): Promise<ReleaseOutcome> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await readReleaseState(projectDir, id);
    const settled = request.action === 'abort' ? !ACTIVE_STATUSES.has(state.status) : state.status !== 'gate';
    if (settled || Date.now() > deadline || options.signal.aborted) {
      const exitCode = !settled ? ExitCode.undecided : state.status === 'promoted' || state.status === 'running' ? ExitCode.ok : state.status === 'rolled-back' || state.status === 'aborted' ? ExitCode.failed : ExitCode.undecided;
      const message = settled ? `${request.action} taken by the running controller: ${state.status}${state.outcome ? ` (${state.outcome})` : ''}` : `${request.action} handed to the running controller; still ${state.status}`;
      return { id, status: state.status, exitCode, message, verdicts: [], proxyPort: state.proxy?.hostPort };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * After promotion: production back to the previous version, one weight flip in the proxy (no
 * rebuild, no analysis). Refused when the previous version is gone (decommissioned).
 */
export async function rollbackRelease(options: ExistingOptions): Promise<ReleaseOutcome> {
  const model = await loadDefinition(options.load);
  const found = await findRelease(model, options.id);
  if (ACTIVE_STATUSES.has(found.status)) return resumeRelease(options, { action: 'abort', actor: options.actor, at: options.now().toISOString() });
  if (found.status !== 'promoted') {
    throw new UsageError('RELEASE_NOT_PROMOTED', `release ${found.id} is ${found.status}: production already runs the previous version`, 'nothing to roll back');
  }
  const lock = await lockRelease(model, found.service, 'envctl release rollback', options.now);
  try {
    const state = await readReleaseState(model.projectDir, found.id);
    const runtime = runtimeFor(options, state.target);
    if (!state.proxy || !(await runtime.running(state.containers.prod))) {
      throw new EnvironmentError('RELEASE_PREVIOUS_GONE', `the previous version of ${state.service} (${state.containers.prod.name}) is no longer running`, 'it was decommissioned; deploy the old version with `envctl up` or a new release');
    }
    const admin = createAdminClient(state.proxy.adminSocket);
    const applied = await admin.setWeights(PROD_ONLY, state.step + 1);
    const events = await openEventLog(join(releaseDir(model.projectDir, state.id), RELEASE_FILES.events));
    try {
      Object.assign(state, { status: 'rolled-back', weights: PROD_ONLY, outcome: `rolled back after promotion by ${options.actor}`, retainUntil: null, updatedAt: options.now().toISOString() });
      await events.append({ release: state.id, event: 'rolled-back', at: state.updatedAt, step: state.step, weights: PROD_ONLY, status: state.status, actor: options.actor, tMonoNs: applied.appliedNs, reason: state.outcome });
      await writeReleaseState(model.projectDir, state);
    } finally {
      await events.close();
    }
    options.notify({ release: state.id, event: 'rolled-back', message: `rolled back: production is ${state.containers.prod.name} again`, step: state.step, weights: PROD_ONLY });
    // The new version is idle now; it goes (the previous one is production again).
    if (state.containers.canary) await runtime.remove(state.containers.canary).catch(() => undefined);
    state.containers.canary = null;
    await writeReleaseState(model.projectDir, state);
    return { id: state.id, status: state.status, exitCode: ExitCode.ok, message: `rolled back: production is ${state.containers.prod.name} again`, verdicts: [], proxyPort: state.proxy.hostPort };
  } finally {
    await lock.release();
  }
}

export interface GcResult {
  decommissioned: Array<{ id: string; container: string }>;
  kept: Array<{ id: string; until: string }>;
}

/** Decommissions previous versions kept for rollback: past their retention, or all with `now`. */
export async function gcReleases(options: { load: LoadOptions; engine: Engine; swarm?: SwarmEngine | undefined; now: () => Date; all: boolean; notify: (notice: ReleaseNotice) => void }): Promise<GcResult> {
  const model = await loadDefinition(options.load);
  const result: GcResult = { decommissioned: [], kept: [] };
  for (const release of await listReleases(model.projectDir)) {
    if (release.project !== model.project || release.env !== model.env || release.status !== 'promoted') continue;
    if (!options.all && release.retainUntil && new Date(release.retainUntil) > options.now()) {
      result.kept.push({ id: release.id, until: release.retainUntil });
      continue;
    }
    const lock = await lockRelease(model, release.service, 'envctl release gc', options.now);
    try {
      await decommission(runtimeFor(options, release.target), model, release);
      await writeReleaseState(model.projectDir, { ...release, status: 'decommissioned', retainUntil: null, updatedAt: options.now().toISOString() });
      result.decommissioned.push({ id: release.id, container: release.containers.prod.name });
      options.notify({ release: release.id, event: 'decommissioned', message: `decommissioned ${release.containers.prod.name} (the version before ${release.id})`, step: release.step, weights: CANARY_ONLY });
    } finally {
      await lock.release();
    }
  }
  return result;
}

export function weightsText(weights: Weights): string {
  return `canary ${weights.canary}% · baseline ${weights.baseline}% · prod ${weights.prod}%`;
}
