import type { EnvironmentModel } from '../definition/model.js';
import { environmentLabels, LABEL } from '../labels.js';
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
  // The swarm target's overlay networks and volumes carry the same environment labels; they are not the local target's.
  const local = (object: { labels: Record<string, string> }) => object.labels[LABEL.target] !== 'swarm';
  return { containers, networks: networks.filter(local), volumes: volumes.filter(local), images };
}
