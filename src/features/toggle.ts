/**
 * `envctl feature list|enable|disable`: the toggles of each environment (definition value, runtime
 * override, effective value), and changing one for a running environment. A change is written to
 * `.envctl/features.json` (which every later load applies, so a later `up` keeps it), recorded in
 * `.envctl/feature-history.jsonl`, and converged by the plan/execute machinery restricted to the
 * services that declare the toggle: the others are not touched.
 */
import { hostname, userInfo } from 'node:os';
import { didYouMean } from '../definition/diagnostics.js';
import { servicesUsing } from '../definition/features.js';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, validateAllEnvironments, type LoadOptions } from '../definition/resolve.js';
import type { Engine } from '../engine/engine.js';
import { executePlan, type ServiceOutcome } from '../engine/execute-plan.js';
import { UsageError } from '../errors.js';
import type { EventSink } from '../events.js';
import { planAgainstEngine } from '../plan/prepare-plan.js';
import { restrictPlan } from '../plan/restrict.js';
import {
  appendFeatureHistory,
  environmentKey,
  overridesFor,
  readFeatureHistory,
  readFeatureOverrides,
  setOverride,
  writeFeatureOverrides,
  type FeatureChange,
} from '../state/feature-overrides.js';
import { lockEnvironment } from '../state/lock.js';

export interface FeatureRow {
  env: string;
  feature: string;
  /** The value of the definition for this environment (overlay applied). */
  definition: boolean;
  /** The runtime override (`envctl feature enable|disable`), or null. */
  override: boolean | null;
  effective: boolean;
  /** Services that declare the toggle (they get FEATURE_<NAME>). */
  services: string[];
  /** The last recorded change of this toggle in this environment. */
  lastChange: Pick<FeatureChange, 'at' | 'by' | 'from' | 'to'> | null;
}

export interface FeatureListResult {
  project: string;
  features: FeatureRow[];
  /** Overrides of toggles the definition no longer declares (ignored), as `env/feature`. */
  stale: string[];
}

/** The toggles of one environment (`--env`) or of the base definition and every overlay. */
export async function listFeatures(load: LoadOptions): Promise<FeatureListResult> {
  const definitionLoad = { ...load, featureOverrides: false };
  const models = load.env !== undefined ? [await loadDefinition(definitionLoad)] : await validateAllEnvironments(definitionLoad);
  const project = models[0]!.project;
  const file = await readFeatureOverrides(models[0]!.projectDir);
  const history = await readFeatureHistory(models[0]!.projectDir);
  const features: FeatureRow[] = [];
  const stale: string[] = [];
  for (const model of models) {
    const overrides = overridesFor(file, model.project, model.env);
    for (const name of Object.keys(overrides).filter((name) => !Object.hasOwn(model.features, name))) stale.push(`${model.env}/${name}`);
    for (const [feature, definition] of Object.entries(model.features).sort(([a], [b]) => a.localeCompare(b))) {
      const override = Object.hasOwn(overrides, feature) ? overrides[feature]! : null;
      const last = history.findLast((change) => change.project === model.project && change.env === model.env && change.feature === feature);
      features.push({
        env: model.env,
        feature,
        definition,
        override,
        effective: override ?? definition,
        services: servicesUsing(model.services, feature),
        lastChange: last ? { at: last.at, by: last.by, from: last.from, to: last.to } : null,
      });
    }
  }
  return { project, features, stale };
}

export function renderFeatureListText(result: FeatureListResult): string {
  const lines = [`features of ${result.project}`];
  if (result.features.length === 0) lines.push('  (the definition declares no `features:`)');
  else {
    const table = [
      ['ENV', 'FEATURE', 'DEFINITION', 'OVERRIDE', 'EFFECTIVE', 'SERVICES'],
      ...result.features.map((row) => [row.env, row.feature, String(row.definition), row.override === null ? '-' : String(row.override), String(row.effective), row.services.join(',') || '(none)']),
    ];
    const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
    for (const row of table) lines.push(`  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}`);
  }
  for (const entry of result.stale) lines.push(`  ignored override ${entry}: the definition no longer declares it`);
  return `${lines.join('\n')}\n`;
}

export interface SetFeatureOptions {
  load: LoadOptions;
  engine: Engine;
  feature: string;
  value: boolean;
  emit: EventSink;
  signal: AbortSignal;
  waitTimeoutMs: number;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Who made the change (`user@host` by default). */
  actor?: string;
}

export interface SetFeatureResult {
  project: string;
  env: string;
  feature: string;
  from: boolean;
  to: boolean;
  /** The value of the definition (an override equal to it is dropped). */
  definition: boolean;
  /** False when the toggle already had this value. */
  changed: boolean;
  /** False when nothing of the environment runs: the toggle applies at the next `envctl up`. */
  running: boolean;
  /** Services that declare the toggle. */
  affected: string[];
  /** Services whose containers were created, recreated or started for it. */
  recreated: string[];
  /** Services outside the toggle that `envctl up` would also change (left as they are). */
  heldBack: string[];
  ok: boolean;
  cancelled: boolean;
  services: ServiceOutcome[];
}

/** Checks the toggle exists in this environment's definition; exit 2 with a did-you-mean otherwise. */
export function checkFeatureName(model: Pick<EnvironmentModel, 'features' | 'env'>, feature: string): void {
  if (Object.hasOwn(model.features, feature)) return;
  const declared = Object.keys(model.features);
  const suggestion = didYouMean(feature, declared);
  throw new UsageError(
    'UNKNOWN_FEATURE',
    `the definition has no feature "${feature}" (env ${model.env})`,
    suggestion ? `did you mean ${suggestion}?` : declared.length > 0 ? `declared: ${declared.join(', ')}` : 'declare it under `features:` (name: true|false)',
  );
}

export async function setFeature(options: SetFeatureOptions): Promise<SetFeatureResult> {
  const startedAt = options.now();
  const definitionModel = await loadDefinition({ ...options.load, featureOverrides: false });
  checkFeatureName(definitionModel, options.feature);
  await options.engine.ping();
  const { project, env, projectDir, prefix } = definitionModel;
  const verb = options.value ? 'enable' : 'disable';
  const lock = await lockEnvironment({ prefix, env: options.load.processEnv, command: `envctl feature ${verb} ${options.feature}`, now: () => new Date(options.now()) });
  try {
    // The overrides file is shared by every environment of the folder: changed under its own lock.
    const fileLock = await lockEnvironment({ prefix: `${project}.features`, env: options.load.processEnv, command: `envctl feature ${verb}`, now: () => new Date(options.now()) });
    let from: boolean;
    try {
      const file = await readFeatureOverrides(projectDir);
      const definition = definitionModel.features[options.feature]!;
      from = overridesFor(file, project, env)[options.feature] ?? definition;
      if (from !== options.value) await writeFeatureOverrides(projectDir, setOverride(file, environmentKey(project, env), options.feature, options.value, definition));
    } finally {
      await fileLock.release();
    }
    const changed = from !== options.value;

    // Converge: the model now carries the new value; only the services that declare the toggle.
    const model = await loadDefinition(options.load);
    const affected = servicesUsing(model.services, options.feature);
    const prepared = await planAgainstEngine(model, options.engine, false);
    const running = prepared.observed.containers.some((container) => container.state === 'running');
    const restricted = restrictPlan(prepared.plan, new Set(affected));
    const converging = restricted.plan.actions.filter((action) => action.subject === 'service' && ['create', 'recreate', 'start'].includes(action.kind)).map((action) => action.name);
    let outcome: { ok: boolean; cancelled: boolean; services: ServiceOutcome[] } = { ok: true, cancelled: false, services: [] };
    try {
      if (running && converging.length > 0) {
        options.emit({ type: 'operation', at: 0, operation: 'up', project, env, services: affected });
        outcome = await executePlan({ engine: options.engine, model, plan: restricted.plan, emit: options.emit, signal: options.signal, waitTimeoutMs: options.waitTimeoutMs, now: options.now, sleep: options.sleep });
      }
    } finally {
      if (changed) {
        await appendFeatureHistory(projectDir, {
          at: new Date(options.now()).toISOString(),
          project,
          env,
          feature: options.feature,
          from,
          to: options.value,
          by: options.actor ?? whoAmI(),
          recreated: running ? converging : [],
        });
      }
    }
    const recreated = running ? converging : [];
    const durationMs = Math.round(options.now() - startedAt);
    const summary = !changed && recreated.length === 0
      ? `${options.feature} is already ${options.value ? 'enabled' : 'disabled'} in ${project} (env ${env})`
      : `${options.feature} ${options.value ? 'enabled' : 'disabled'} in ${project} (env ${env}): ${running ? (recreated.length > 0 ? `recreated ${recreated.join(', ')}` : 'no service uses it') : 'not running, applies at the next `envctl up`'}`;
    for (const service of restricted.heldBack) options.emit({ type: 'warning', at: durationMs, message: `${service} also differs from the definition and was left as it is (\`envctl up\` converges it)` });
    options.emit({ type: 'done', at: durationMs, ok: outcome.ok, cancelled: outcome.cancelled, summary });
    return {
      project,
      env,
      feature: options.feature,
      from,
      to: options.value,
      definition: definitionModel.features[options.feature]!,
      changed,
      running,
      affected,
      recreated,
      heldBack: restricted.heldBack,
      ok: outcome.ok,
      cancelled: outcome.cancelled,
      services: outcome.services,
    };
  } finally {
    await lock.release();
  }
}

function whoAmI(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
  return `${user}@${hostname()}`;
}
