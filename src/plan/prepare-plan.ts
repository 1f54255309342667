/**
 * The impure shell around the pure planner: hash build inputs, observe the engine (or assume an
 * empty one when offline), then plan. The definition is loaded (and validated) by the caller first,
 * so bad input never reaches the engine.
 */
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import type { Engine } from '../engine/engine.js';
import { observeEngine } from '../engine/observe.js';
import { EMPTY_OBSERVED_STATE, type ObservedState } from '../engine/types.js';
import { builtImageRefs } from '../engine/build-image.js';
import { classifyDrift, type DriftReport } from './drift.js';
import { planEnvironment, type Plan } from './plan.js';

export interface PreparedPlan {
  model: EnvironmentModel;
  plan: Plan;
  observed: ObservedState;
  buildDigests: Record<string, string>;
}

/** Plans a loaded model against the engine (`undefined`: an empty engine, `--offline`). */
export async function planAgainstEngine(model: EnvironmentModel, engine: Engine | undefined, removeOrphans: boolean): Promise<PreparedPlan> {
  const built = await builtImageRefs(model, Date.now);
  const buildDigests = Object.fromEntries(Object.entries(built).map(([service, image]) => [service, image.digest]));
  const imageRefs = Object.values(model.services).map((service) => built[service.name]?.ref ?? service.image!);
  const observed = engine ? await observeEngine(engine, model, imageRefs) : EMPTY_OBSERVED_STATE;
  const plan = planEnvironment({ model, observed, buildDigests, removeOrphans, offline: !engine });
  return { model, plan, observed, buildDigests };
}

/** `envctl plan`: load, check the engine answers, plan. */
export async function preparePlan(options: { load: LoadOptions; engine: Engine | undefined; removeOrphans: boolean }): Promise<PreparedPlan> {
  const model = await loadDefinition(options.load);
  if (options.engine) await options.engine.ping();
  return planAgainstEngine(model, options.engine, options.removeOrphans);
}

/** `envctl drift`: load, check the engine answers, plan, and compare the images containers run. */
export async function prepareDrift(options: { load: LoadOptions; engine: Engine }): Promise<{ model: EnvironmentModel; report: DriftReport }> {
  const model = await loadDefinition(options.load);
  await options.engine.ping();
  const { plan, observed } = await planAgainstEngine(model, options.engine, false);
  const refs = plan.actions.flatMap((action) => (action.subject === 'service' && 'hash' in action && action.kind !== 'create' ? [action.image] : []));
  const imageIds = await options.engine.imageIds(refs);
  return { model, report: classifyDrift({ plan, containers: observed.containers, imageIds }) };
}
