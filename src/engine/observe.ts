import type { EnvironmentModel } from '../definition/model.js';
import { environmentLabels } from '../labels.js';
import type { Engine } from './engine.js';
import type { ObservedState } from './types.js';

/** What the engine holds for one environment, found by its labels, plus which of `imageRefs` exist. */
export async function observeEngine(engine: Engine, model: Pick<EnvironmentModel, 'project' | 'env'>, imageRefs: readonly string[]): Promise<ObservedState> {
  const labels = environmentLabels(model.project, model.env);
  const [containers, networks, volumes, images] = await Promise.all([
    engine.listContainers(labels),
    engine.listNetworks(labels),
    engine.listVolumes(labels),
    engine.existingImages(imageRefs),
  ]);
  return { containers, networks, volumes, images };
}
