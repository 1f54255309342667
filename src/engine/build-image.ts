/**
 * Building one service's image, the same way for `up` and the pipeline's build stage: tagged by
 * the content hash of its inputs, labelled with the project that owns it.
 */
import { builtImageRef, hashBuildInputs } from '../definition/build-inputs.js';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { LABEL } from '../labels.js';
import { FileHashCache } from '../state/hash-cache.js';
import type { Engine } from './engine.js';

/** The content-addressed image reference of every built service (file hashes cached in `.envctl/`). */
export async function builtImageRefs(model: EnvironmentModel, now: () => number): Promise<Record<string, { digest: string; ref: string }>> {
  const cache = await FileHashCache.load(model.projectDir, now);
  const out: Record<string, { digest: string; ref: string }> = {};
  for (const service of Object.values(model.services)) {
    if (!service.build) continue;
    const { digest } = await hashBuildInputs(service.build, cache);
    out[service.name] = { digest, ref: builtImageRef(model.imageProject, service.name, digest) };
  }
  // The cache only saves time; a project folder that cannot be written to must not fail anything.
  await cache.save().catch(() => undefined);
  return out;
}

export async function buildServiceImage(engine: Engine, model: EnvironmentModel, service: ServiceModel, ref: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  const build = service.build!;
  await engine.buildImage(
    {
      context: build.context,
      dockerfile: build.dockerfile,
      args: build.args,
      target: build.target,
      tag: ref,
      labels: { [LABEL.project]: model.imageProject, [LABEL.service]: service.name, [LABEL.buildHash]: ref.split(':')[1] ?? '' },
    },
    onLine,
    signal,
  );
}
