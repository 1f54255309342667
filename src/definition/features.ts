/**
 * Feature toggles: `features:` (overlays merge into it), the runtime overrides of `envctl feature`
 * on top, and FEATURE_<NAME> variables for the services that declare a toggle
 * (`services.<name>.features: [toggle]`). Pure.
 */
import type { ServiceModel } from './model.js';

/** `new-checkout` → `FEATURE_NEW_CHECKOUT`. */
export function featureVariable(feature: string): string {
  return `FEATURE_${feature.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * The effective toggles: the definition's values with the overrides applied. An override of a
 * toggle the definition no longer declares is ignored (and reported as `stale`).
 */
export function applyFeatureOverrides(
  definition: Readonly<Record<string, boolean>>,
  overrides: Readonly<Record<string, boolean>>,
): { features: Record<string, boolean>; applied: Record<string, boolean>; stale: string[] } {
  const features: Record<string, boolean> = { ...definition };
  const applied: Record<string, boolean> = {};
  const stale: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(definition, name)) {
      stale.push(name);
      continue;
    }
    features[name] = value;
    applied[name] = value;
  }
  return { features, applied, stale };
}

/**
 * The service with FEATURE_* set for each toggle it declares, unless its `environment` (or an
 * env_file) sets that variable itself, which wins.
 */
export function withFeatureVariables(service: ServiceModel, features: Readonly<Record<string, boolean>>): ServiceModel {
  if (service.features.length === 0) return service;
  const environment = { ...service.environment };
  for (const feature of service.features) {
    const key = featureVariable(feature);
    if (Object.hasOwn(features, feature) && !Object.hasOwn(environment, key)) environment[key] = String(features[feature]);
  }
  return { ...service, environment };
}

/** The services that declare a toggle (they are the ones recreated when it changes), in model order. */
export function servicesUsing(services: Readonly<Record<string, Pick<ServiceModel, 'name' | 'features'>>>, feature: string): string[] {
  return Object.values(services)
    .filter((service) => service.features.includes(feature))
    .map((service) => service.name);
}
