/**
 * The impure side of `envctl.lock`: which image each service of an environment runs (built
 * services by their content-addressed tag, the others by `image:`), its ID in the engine, building
 * what is missing for `envctl lock`, and the check of `up --locked` / `pipeline --locked`.
 */
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, validateAllEnvironments, type LoadOptions } from '../definition/resolve.js';
import { buildServiceImage, builtImageRefs } from '../engine/build-image.js';
import type { Engine } from '../engine/engine.js';
import { WorkFailedError } from '../errors.js';
import { lockMismatchError, mergeLock, noLockError, readLockFile, verifyLock, writeLockFile, type ImageInUse, type LockedImage, type LockFile } from './lockfile.js';

/** Each active service's image reference and its ID in the engine (undefined when absent). */
export async function imagesInUse(model: EnvironmentModel, engine: Engine, now: () => number): Promise<Record<string, ImageInUse>> {
  const built = await builtImageRefs(model, now);
  const refs = Object.fromEntries(Object.values(model.services).map((service) => [service.name, built[service.name]?.ref ?? service.image!]));
  const ids = await engine.imageIds(Object.values(refs));
  return Object.fromEntries(Object.values(model.services).map((service) => [service.name, { image: refs[service.name]!, digest: ids.get(refs[service.name]!), built: service.build !== undefined }]));
}

export interface LockResult {
  path: string;
  project: string;
  /** The environments written, with their services' images. */
  environments: LockFile['environments'];
  /** Images built because they were missing (`service (ref)`). */
  built: string[];
  /** False when the file already said exactly this. */
  changed: boolean;
}

/**
 * `envctl lock`: for the base definition and every overlay (or just `--env`), builds the images
 * that are missing, reads their IDs and writes `envctl.lock` beside the definition. An `image:`
 * that is not in the engine is an error: envctl never pulls.
 */
export async function writeLock(options: { load: LoadOptions; engine: Engine; now: () => number; onBuildLine: (service: string, line: string) => void; signal: AbortSignal }): Promise<LockResult> {
  const models = options.load.env !== undefined ? [await loadDefinition(options.load)] : await validateAllEnvironments(options.load);
  await options.engine.ping();
  const first = models[0]!;
  const environments: LockFile['environments'] = {};
  const built: string[] = [];
  for (const model of models) {
    let inUse = await imagesInUse(model, options.engine, options.now);
    const missingBuilds = Object.entries(inUse).filter(([, image]) => image.built && !image.digest);
    for (const [service, image] of missingBuilds) {
      await buildServiceImage(options.engine, model, model.services[service]!, image.image, (line) => options.onBuildLine(service, line), options.signal);
      built.push(`${service} (${image.image})`);
    }
    if (missingBuilds.length > 0) inUse = await imagesInUse(model, options.engine, options.now);
    const absent = Object.entries(inUse).filter(([, image]) => !image.digest);
    if (absent.length > 0) {
      throw new WorkFailedError(
        'IMAGE_MISSING',
        `cannot lock env ${model.env}: image not present in the engine: ${absent.map(([service, image]) => `${image.image} (service ${service})`).join(', ')}`,
        'envctl never pulls from a registry: `docker pull` or `docker load` it first',
      );
    }
    const services: Record<string, LockedImage> = {};
    for (const [service, image] of Object.entries(inUse)) services[service] = { image: image.image, digest: image.digest!, built: image.built };
    environments[model.env] = { services };
  }
  const existing = await readLockFile(first.projectDir).catch(() => undefined);
  const lock = mergeLock(existing?.lock, first.project, environments);
  const path = await writeLockFile(first.projectDir, lock);
  const after = await readLockFile(first.projectDir);
  return { path, project: first.project, environments, built, changed: existing?.sha256 !== after?.sha256 };
}

/** What a run with `--locked` ran with (kept in the pipeline's run record). */
export interface LockUsed {
  path: string;
  /** sha256 of the lock file's bytes. */
  sha256: string;
  env: string;
  services: Record<string, { image: string; digest: string }>;
}

/**
 * `--locked`: every service of the environment must run exactly the image the lock names (same
 * reference, same image ID). No lock file → exit 2; a difference → exit 1 naming each service
 * with the expected and the found digest. Nothing is built or started before this passes.
 */
export async function verifyLocked(model: EnvironmentModel, engine: Engine, now: () => number): Promise<LockUsed> {
  const file = await readLockFile(model.projectDir);
  if (!file) throw noLockError(model.projectDir);
  const inUse = await imagesInUse(model, engine, now);
  const mismatches = verifyLock(file.lock, model.env, inUse);
  if (mismatches.length > 0) throw lockMismatchError(mismatches, model.env, file.path);
  return {
    path: file.path,
    sha256: file.sha256,
    env: model.env,
    services: Object.fromEntries(Object.entries(inUse).map(([service, image]) => [service, { image: image.image, digest: image.digest! }])),
  };
}
