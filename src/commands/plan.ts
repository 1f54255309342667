import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../cli/base-command.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { preparePlan } from '../plan/prepare-plan.js';
import { renderPlanText, summarisePlan, type Plan, type PlanSummary } from '../plan/plan.js';
import { registryFlag, targetFlag } from '../cli/target-flag.js';
import { runSwarmPlan, type SwarmPlanResult } from '../cli/swarm-target.js';
import { UsageError } from '../errors.js';

export interface PlanResult {
  project: string;
  env: string;
  offline: boolean;
  actions: Plan['actions'];
  warnings: string[];
  summary: PlanSummary;
}

export default class PlanCommand extends EnvctlCommand {
  static override summary = 'Show what `envctl up` would do, and why.';
  static override description =
    'Reads the definition, observes the engine by labels and prints the ordered actions: build (image inputs changed), create, recreate (naming the changed fields), start, keep, and orphans (removed only with --remove-orphans). Nothing is changed.';
  static override examples = ['<%= config.bin %> plan', '<%= config.bin %> plan --env ci --json', '<%= config.bin %> plan --offline --file environments/demo/envctl.yaml'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    offline: Flags.boolean({ description: 'plan against an empty engine, without contacting Docker', default: false }),
    'remove-orphans': Flags.boolean({ description: 'plan the removal of containers and networks no longer in the definition', default: false }),
    target: targetFlag,
    registry: registryFlag,
  };

  async run(): Promise<PlanResult | SwarmPlanResult> {
    const { flags } = await this.parse(PlanCommand);
    if (flags.target === 'swarm') {
      if (flags.offline) throw new UsageError('BAD_FLAGS', '--offline applies to the local target', 'drop --offline: the swarm plan reads the engine (outside a swarm it plans against an empty one)');
      return runSwarmPlan(this.jsonEnabled(), { load: this.loadOptions(flags), registry: flags.registry, removeOrphans: flags['remove-orphans'] }, (model) => this.warnDiagnostics(model.warnings));
    }
    const { model, plan } = await preparePlan({
      load: { ...this.loadOptions(flags), unsupportedKeys: 'warn' },
      engine: flags.offline ? undefined : DockerEngine.fromEnv(process.env),
      removeOrphans: flags['remove-orphans'],
    });
    if (!this.jsonEnabled()) {
      this.warnDiagnostics(model.warnings);
      process.stdout.write(renderPlanText(plan));
    }
    return { project: plan.project, env: plan.env, offline: flags.offline, actions: plan.actions, warnings: [...model.warnings.map((w) => w.message), ...plan.warnings], summary: summarisePlan(plan) };
  }
}
