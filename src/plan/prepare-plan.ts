/**
 * The impure shell around the pure planner: load the definition, hash build inputs, observe the
 * engine (or assume an empty one with `offline`), then plan.
 */
import { builtImageRef, hashBuildInputs } from '../definition/build-inputs.js';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import type { Engine } from '../engine/engine.js';
import { observeEngine } from '../engine/observe.js';
import { EMPTY_OBSERVED_STATE, type EngineInfo } from '../engine/types.js';
import { planEnvironment, type Plan } from './plan.js';

export interface PreparePlanOptions {
  load: LoadOptions;
  /** Undefined plans against an empty engine (`--offline`). */
  engine: Engine | undefined;
  removeOrphans: boolean;
}

export interface PreparedPlan {
  model: EnvironmentModel;
  plan: Plan;
  engine: EngineInfo | undefined;
  buildDigests: Record<string, string>;
}

export async function preparePlan(options: PreparePlanOptions): Promise<PreparedPlan> {
  // The definition is fully validated before the engine is contacted: bad input makes no Docker call.
  const model = await loadDefinition(options.load);
  const engineInfo = options.engine ? await options.engine.ping() : undefined;
  const buildDigests: Record<string, string> = {};
  for (const service of Object.values(model.services)) {
    if (service.build) buildDigests[service.name] = (await hashBuildInputs(service.build)).digest;
  }
  const imageRefs = Object.values(model.services).map((service) =>
    service.build ? builtImageRef(model.project, service.name, buildDigests[service.name]!) : service.image!,
  );
  const observed = options.engine ? await observeEngine(options.engine, model, imageRefs) : EMPTY_OBSERVED_STATE;
  const plan = planEnvironment({ model, observed, buildDigests, removeOrphans: options.removeOrphans, offline: !options.engine });
  return { model, plan, engine: engineInfo, buildDigests };
}
