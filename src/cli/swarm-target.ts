/**
 * The `--target swarm` side of up, down, status, logs and plan: wiring (engines, renderer,
 * cancellation, exit codes) in one place so each command only branches on the flag.
 */
import { runCancellable, sleep } from './cancellation.js';
import type { OutputMode } from './base-command.js';
import type { EnvironmentModel } from '../definition/model.js';
import type { LoadOptions } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { SwarmDockerEngine } from '../engine/swarm-docker.js';
import { ExitCode } from '../errors.js';
import { planSwarmTarget, swarmUp, type SwarmUpResult } from '../swarm/deploy.js';
import { renderSwarmPlanText, summariseSwarmPlan, type SwarmAction, type SwarmPlanSummary } from '../swarm/plan.js';
import { renderSwarmStatusText, swarmDown, swarmStatus, type SwarmDownResult, type SwarmStatusResult } from '../swarm/operate.js';
import { createProgressRenderer } from '../ui/render-progress.js';
import { environmentLabels } from '../labels.js';
import { stackSelector } from '../swarm/spec.js';
import type { Target } from './target-flag.js';
import { writeFailedServices, writeSkippedServices } from './service-failures.js';

function engines() {
  return { engine: DockerEngine.fromEnv(process.env), swarm: SwarmDockerEngine.fromEnv(process.env) };
}

/**
 * The target of `status`, `logs` and `down` without `--target`: local, unless the environment has
 * no container on this engine and the engine is a swarm manager with the environment's stack.
 */
export async function resolveTarget(flag: Target | undefined, model: EnvironmentModel): Promise<Target> {
  if (flag) return flag;
  const { engine, swarm } = engines();
  await engine.ping();
  if ((await engine.listContainers(environmentLabels(model.project, model.env))).length > 0) return 'local';
  const info = await swarm.swarmInfo();
  if (!info.isManager) return 'local';
  return (await swarm.listServices(stackSelector(model))).length > 0 ? 'swarm' : 'local';
}

export async function runSwarmUp(mode: OutputMode, options: { load: LoadOptions; registry: string | undefined; removeOrphans: boolean; waitTimeoutMs: number }): Promise<SwarmUpResult> {
  const renderer = createProgressRenderer(mode, { stderr: process.stderr });
  const result: SwarmUpResult = await runCancellable(renderer, 'letting running operations finish', (signal) =>
    swarmUp({ ...engines(), ...options, emit: renderer.sink, signal, now: Date.now, sleep }),
  );
  if (mode !== 'json') {
    writeFailedServices(result.services);
    writeSkippedServices(result.services);
  }
  process.exitCode = result.cancelled ? ExitCode.cancelled : result.ok ? ExitCode.ok : ExitCode.failed;
  return result;
}

export async function runSwarmDown(mode: OutputMode, model: EnvironmentModel, volumes: boolean): Promise<SwarmDownResult> {
  const renderer = createProgressRenderer(mode, { stderr: process.stderr });
  try {
    return await swarmDown({ model, ...engines(), volumes, emit: renderer.sink, now: Date.now, sleep });
  } finally {
    await renderer.close();
  }
}

export async function runSwarmStatus(json: boolean, model: EnvironmentModel): Promise<SwarmStatusResult> {
  const { engine, swarm } = engines();
  await engine.ping();
  const status = await swarmStatus(model, swarm);
  if (!json) process.stdout.write(renderSwarmStatusText(status));
  return status;
}

export interface SwarmPlanResult {
  project: string;
  env: string;
  target: 'swarm';
  stack: string;
  actions: SwarmAction[];
  warnings: string[];
  summary: SwarmPlanSummary;
}

export async function runSwarmPlan(json: boolean, options: { load: LoadOptions; registry: string | undefined; removeOrphans: boolean }, warn: (model: EnvironmentModel) => void): Promise<SwarmPlanResult> {
  const { model, plan } = await planSwarmTarget({ load: options.load, context: { ...engines(), registry: options.registry, now: Date.now }, removeOrphans: options.removeOrphans });
  if (!json) {
    warn(model);
    process.stdout.write(renderSwarmPlanText(plan));
  }
  return { project: plan.project, env: plan.env, target: 'swarm', stack: plan.stack, actions: plan.actions, warnings: [...model.warnings.map((warning) => warning.message), ...plan.warnings], summary: summariseSwarmPlan(plan) };
}

