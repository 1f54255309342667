/**
 * `envctl pipeline`: build → integration → perf → staging (→ release), the same logic on a laptop
 * and in CI (only the rendering differs). A failing stage skips the rest; every run leaves a record
 * under `.envctl/runs/<id>/`; ephemeral environments are removed whatever happens (unless kept on
 * failure for inspection).
 */
import { buildServiceImage, builtImageRefs } from '../engine/build-image.js';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import type { NotifyConfig, PipelineConfig, StageCommand } from '../definition/schema.js';
import { EnvctlError, ExitCode, UsageError } from '../errors.js';
import { STAGES, type EnvctlEvent, type PipelineSink, type StageName } from '../events.js';
import type { Engine } from '../engine/engine.js';
import { environmentLabels, LABEL } from '../labels.js';
import { saveFailedStageArtifacts } from './artifacts.js';
import { lockEnvironment } from '../state/lock.js';
import { verifyLocked } from '../lockfile/collect.js';
import { crashPoint } from '../fault.js';
import { newRunId, recentPassingFigures, writeRunRecord, type RunRecord, type StageRecord } from '../state/runs.js';
import { runChecks } from '../checks/run-checks.js';
import { checkContextFor } from '../checks/context.js';
import { deriveEnvironment, provision, serviceUrls, teardown, type Provisioned } from './environments.js';
import { generateLoad, judgePerf, loadFiguresSchema, medianFigures } from './perf.js';
import { runInImage, runOnHost, type CommandOutcome } from './run-command.js';
import { desiredImage } from '../plan/plan.js';
import { productionRunning, startRelease } from '../release/release.js';

export interface PipelineOptions {
  load: LoadOptions;
  engine: Engine;
  from?: StageName | undefined;
  to?: StageName | undefined;
  only?: StageName | undefined;
  keepOnFailure: boolean;
  /** `--locked`: refuse unless every image is the one `envctl.lock` names; the record keeps the lock. */
  locked?: boolean;
  ci: boolean;
  emit: PipelineSink;
  signal: AbortSignal;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
  waitTimeoutMs: number;
}

export interface PipelineResult {
  runId: string;
  project: string;
  env: string;
  status: 'passed' | 'failed' | 'cancelled';
  failedStage: StageName | undefined;
  failedCheck: string | undefined;
  /** The release stage neither promoted nor rolled back (inconclusive, or waiting at a gate): exit 4. */
  undecided: boolean;
  durationMs: number;
  record: RunRecord;
  recordPath: string;
  /** The `notify:` of the definition the run used (not re-read after the run). */
  notify: NotifyConfig | undefined;
  projectDir: string;
}

interface StageOutcome {
  status: 'passed' | 'failed' | 'skipped';
  detail: string | undefined;
  results: StageRecord['results'];
  figures?: Record<string, unknown>;
  /** Neither passed nor failed for good: a release inconclusive or waiting at a gate (exit 4). */
  undecided?: boolean;
  outputTail: string[];
}

/** Stages that run, in order: build always; the others when the definition declares them. */
export function selectStages(pipeline: PipelineConfig | undefined, flags: { from?: StageName | undefined; to?: StageName | undefined; only?: StageName | undefined }): StageName[] {
  const declared = STAGES.filter((stage) => stage === 'build' || pipeline?.[stage] !== undefined);
  for (const [flag, stage] of [['--from', flags.from], ['--to', flags.to], ['--only', flags.only]] as const) {
    if (stage !== undefined && !declared.includes(stage)) {
      throw new UsageError('UNKNOWN_STAGE', `${flag} ${stage}: the definition declares no ${stage} stage`, `declared stages: ${declared.join(', ')}`);
    }
  }
  if (flags.only) return [flags.only];
  const start = flags.from ? declared.indexOf(flags.from) : 0;
  const end = flags.to ? declared.indexOf(flags.to) : declared.length - 1;
  if (end < start) throw new UsageError('BAD_STAGE_RANGE', `--to ${flags.to} comes before --from ${flags.from}`, `the order is ${declared.join(' → ')}`);
  return declared.slice(start, end + 1);
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  // The definition as committed: `envctl feature` overrides of a developer's environment must not
  // make a local run differ from CI (the release stage still meets production as it runs).
  const model = await loadDefinition({ ...options.load, featureOverrides: false });
  const stages = selectStages(model.pipeline, options);
  await options.engine.ping();
  const lockUsed = options.locked ? await verifyLocked(model, options.engine, options.now) : undefined;

  const startedAt = options.now();
  const at = () => Math.round(options.now() - startedAt);
  const runId = newRunId(new Date(startedAt), options.random);
  const record: RunRecord = {
    version: 1,
    id: runId,
    project: model.project,
    env: model.env,
    definition: model.file,
    ci: options.ci,
    startedAt: new Date(startedAt).toISOString(),
    status: 'running',
    pid: process.pid,
    images: {},
    ...(lockUsed ? { lock: lockUsed } : {}),
    stages: stages.map((name) => ({ name, status: 'pending', results: [], outputTail: [] })),
  };
  let recordPath = await writeRunRecord(model.projectDir, record);
  options.emit({ type: 'pipeline', at: 0, runId, project: model.project, env: model.env, stages });

  const context: StageContext = { options, model, runId, at, images: record.images };
  let failedStage: StageName | undefined;
  let failedCheck: string | undefined;
  let undecided = false;
  try {
    await runStages();
  } catch (error) {
    // A bug or a state write failure must not leave the record `running` for ever.
    record.status = 'failed';
    record.finishedAt = new Date(options.now()).toISOString();
    record.durationMs = at();
    await writeRunRecord(model.projectDir, record).catch(() => undefined);
    throw error;
  }

  async function runStages(): Promise<void> {
    for (const [index, stage] of stages.entries()) {
      const stageRecord = record.stages[index]!;
      if (failedStage || options.signal.aborted) {
        stageRecord.status = 'skipped';
        stageRecord.detail = failedStage ? `${failedStage} failed` : 'cancelled';
        options.emit({ type: 'stage', at: at(), stage, status: 'skipped', detail: stageRecord.detail });
        continue;
      }
      const stageStart = options.now();
      stageRecord.status = 'running';
      stageRecord.startedAt = new Date(stageStart).toISOString();
      options.emit({ type: 'stage', at: at(), stage, status: 'running' });
      let outcome: StageOutcome;
      try {
        outcome = await STAGE_RUNNERS[stage](context);
      } catch (error) {
        if (!(error instanceof EnvctlError) && !options.signal.aborted) throw error;
        outcome = { status: 'failed', detail: options.signal.aborted ? 'cancelled' : error instanceof Error ? error.message : String(error), results: [], outputTail: [] };
      }
      Object.assign(stageRecord, { status: outcome.status, detail: outcome.detail, results: outcome.results, outputTail: outcome.outputTail, durationMs: Math.round(options.now() - stageStart) });
      if (outcome.figures) stageRecord.figures = outcome.figures;
      options.emit({ type: 'stage', at: at(), stage, status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}) });
      if (outcome.undecided) undecided = true;
      if (outcome.status === 'failed') {
        failedStage = stage;
        failedCheck = outcome.results.find((result) => result.status === 'failed')?.name;
      }
      recordPath = await writeRunRecord(model.projectDir, record);
    }
  }

  const cancelled = options.signal.aborted;
  record.status = cancelled ? 'cancelled' : failedStage ? 'failed' : 'passed';
  record.finishedAt = new Date(options.now()).toISOString();
  record.durationMs = at();
  recordPath = await writeRunRecord(model.projectDir, record);
  const summary = cancelled
    ? `run ${runId} cancelled after ${seconds(record.durationMs)}`
    : failedStage
      ? `run ${runId}: ${failedStage} failed${failedCheck ? ` (${failedCheck})` : ''} after ${seconds(record.durationMs)}`
      : `run ${runId}: ${stages.join(', ')} passed in ${seconds(record.durationMs)}`;
  options.emit({ type: 'pipeline-done', at: at(), ok: record.status === 'passed', cancelled, summary });
  return { runId, project: model.project, env: model.env, status: record.status, failedStage, failedCheck, undecided, durationMs: record.durationMs, record, recordPath, notify: model.pipeline?.notify, projectDir: model.pipelineDir };
}

/** Passing runs whose median figures are the perf baseline (the newest this many), and the fewest that make one. */
const BASELINE_RUNS = 5;
const MIN_BASELINE_RUNS = 3;

interface StageContext {
  options: PipelineOptions;
  model: EnvironmentModel;
  runId: string;
  at: () => number;
  /** Built image per service, filled by the build stage (and by provisioning if build was skipped). */
  images: Record<string, string>;
}

const STAGE_RUNNERS: Record<StageName, (context: StageContext) => Promise<StageOutcome>> = {
  build: buildStage,
  integration: integrationStage,
  perf: perfStage,
  staging: stagingStage,
  release: releaseStage,
};

/**
 * The release controller of `envctl release start`, against production (this environment as
 * `envctl up` runs it) with the image the build stage made. Promoted → passed; rolled back →
 * failed; inconclusive or waiting at a manual gate → failed and undecided (exit 4), the release
 * left for `envctl release approve|abort`.
 */
async function releaseStage(context: StageContext): Promise<StageOutcome> {
  const { options, model } = context;
  const config = model.pipeline!.release!;
  const output = outputCollector(context, 'release');
  if (!(await productionRunning(options.engine, model, config.service))) {
    const detail = `production (${model.project}, service ${config.service}) is not running, so there is nothing to release against; start it with \`envctl up\``;
    return { status: 'skipped', detail, results: [], outputTail: [] };
  }
  const image = context.images[config.service];
  const outcome = await startRelease({
    load: options.load,
    engine: options.engine,
    image,
    build: image === undefined,
    buildArgs: {},
    random: options.random,
    onBuildLine: (line) => output.keep(line),
    notify: (notice) => output.push(notice.message),
    now: () => new Date(options.now()),
    signal: options.signal,
    confirm: undefined,
    actor: `pipeline ${context.runId}`,
  });
  const verdict = outcome.verdicts.at(-1);
  const results: StageRecord['results'] = verdict ? [{ name: `release ${outcome.id}`, status: outcome.status === 'promoted' ? 'passed' : 'failed', detail: outcome.message }] : [];
  const status = outcome.status === 'promoted' ? 'passed' : 'failed';
  return {
    status,
    detail: outcome.message,
    results,
    outputTail: output.lines,
    figures: { release: outcome.id, status: outcome.status, exitCode: outcome.exitCode },
    ...(outcome.exitCode === ExitCode.undecided ? { undecided: true } : {}),
  };
}

async function buildStage(context: StageContext): Promise<StageOutcome> {
  const { options, model } = context;
  const output = outputCollector(context, 'build');
  const results: StageRecord['results'] = [];
  const built = Object.values(model.services).filter((service) => service.build);
  const refs = await builtImageRefs(model, options.now);
  const existing = await options.engine.existingImages(Object.values(refs).map((image) => image.ref));
  for (const service of built) {
    const ref = refs[service.name]!.ref;
    context.images[service.name] = ref;
    if (existing.has(ref)) {
      results.push({ name: `image ${service.name}`, status: 'passed', detail: `unchanged (${ref})` });
      emitCheck(context, 'build', `image ${service.name}`, 'passed', `unchanged (${ref})`);
      continue;
    }
    const start = options.now();
    try {
      await buildServiceImage(options.engine, model, service, ref, (line) => output.push(`${service.name} | ${line}`), options.signal);
    } catch (error) {
      if (options.signal.aborted) throw error;
      const detail = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      results.push({ name: `image ${service.name}`, status: 'failed', detail });
      emitCheck(context, 'build', `image ${service.name}`, 'failed', detail);
      return { status: 'failed', detail: `building ${service.name} failed`, results, outputTail: output.lines };
    }
    const detail = `built ${ref} in ${seconds(options.now() - start)}`;
    results.push({ name: `image ${service.name}`, status: 'passed', detail, durationMs: Math.round(options.now() - start) });
    emitCheck(context, 'build', `image ${service.name}`, 'passed', detail);
  }
  const command = model.pipeline?.build;
  if (command) {
    const outcome = await runStageCommand(context, 'build', command, undefined);
    const result = commandResult(command, outcome);
    results.push(result);
    emitCheck(context, 'build', result.name, result.status === 'passed' ? 'passed' : 'failed', result.detail);
    if (result.status === 'failed') return { status: 'failed', detail: result.detail, results, outputTail: output.lines.concat(outcome.outputTail).slice(-40) };
  }
  return { status: 'passed', detail: `${built.length} image(s), ${results.filter((result) => result.detail?.startsWith('unchanged')).length} unchanged`, results, outputTail: output.lines };
}

async function integrationStage(context: StageContext): Promise<StageOutcome> {
  const command = context.model.pipeline!.integration!;
  return withEphemeralEnvironment(context, 'integration', async (environment, output) => {
    const outcome = await runStageCommand(context, 'integration', command, environment);
    const result = commandResult(command, outcome);
    emitCheck(context, 'integration', result.name, result.status === 'passed' ? 'passed' : 'failed', result.detail);
    return { status: result.status === 'passed' ? 'passed' : 'failed', detail: result.detail, results: [result], outputTail: output.lines.concat(outcome.outputTail).slice(-40) };
  });
}

async function perfStage(context: StageContext): Promise<StageOutcome> {
  const config = context.model.pipeline!.perf!;
  return withEphemeralEnvironment(context, 'perf', async (environment, output) => {
    const container = environment.containers.find((candidate) => candidate.service === config.target);
    const port = container?.ports.find((candidate) => candidate.protocol === 'tcp' && (config.port === undefined || candidate.target === config.port));
    if (!container || !port) {
      const detail = `service ${config.target} publishes no ${config.port ? `port ${config.port}` : 'port'} to send load to`;
      return { status: 'failed', detail, results: [{ name: 'perf target', status: 'failed', detail }], outputTail: output.lines };
    }
    const url = `http://127.0.0.1:${port.published}${config.path}`;
    output.push(`load: ${config.connections} connections for ${seconds(config.duration)} against ${config.target}${config.path}`);
    const figures = await generateLoad({ url, durationMs: config.duration, connections: config.connections, signal: context.options.signal, onProgress: (line) => output.push(line) });
    // Baseline: the median of the last passing runs (a record that does not parse is ignored, never trusted).
    const previous = await recentPassingFigures(context.model.projectDir, context.model.project, context.model.env, 'perf', context.runId, BASELINE_RUNS);
    const valid = previous.flatMap((run) => {
      const parsed = loadFiguresSchema.safeParse(run.figures);
      if (!parsed.success) output.push(`ignoring the figures of run ${run.runId}: they are not valid load figures`);
      return parsed.success ? [parsed.data] : [];
    });
    // Fewer runs than that are too noisy a baseline on a shared laptop or CI runner.
    const baseline = valid.length >= MIN_BASELINE_RUNS ? medianFigures(valid) : undefined;
    output.push(baseline ? `baseline: median of ${valid.length} passing runs` : `regression not judged yet: ${valid.length} of ${MIN_BASELINE_RUNS} passing runs recorded`);
    const verdict = judgePerf(figures, config.thresholds, baseline, config.tolerance);
    for (const result of verdict.results) emitCheck(context, 'perf', result.name, result.status, result.detail);
    const summary = `p50 ${figures.latencyMs.p50.toFixed(1)} ms, p95 ${figures.latencyMs.p95.toFixed(1)} ms, p99 ${figures.latencyMs.p99.toFixed(1)} ms, ${figures.rps.toFixed(0)} req/s, errors ${(figures.errorRate * 100).toFixed(2)}%`;
    output.push(summary);
    const failed = verdict.results.find((result) => result.status === 'failed');
    return {
      status: verdict.status,
      detail: failed ? `${failed.name}: ${failed.detail}` : summary,
      results: verdict.results,
      figures: figures as unknown as Record<string, unknown>,
      outputTail: output.lines,
    };
  });
}

async function stagingStage(context: StageContext): Promise<StageOutcome> {
  const { options, model } = context;
  const config = model.pipeline!.staging!;
  const output = outputCollector(context, 'staging');
  // Long-lived: `<name>-staging`, recreated only where images or configuration changed.
  const staging = deriveEnvironment(model, { project: `${model.project}-staging` });
  const lock = await lockEnvironment({ prefix: staging.prefix, env: options.load.processEnv, command: `envctl pipeline ${context.runId}`, now: () => new Date(options.now()) });
  try {
    const environment = await provision(staging, { ...provisionOptions(context, output) });
    const failure = provisioningFailure(environment);
    if (failure) return { status: 'failed', detail: failure, results: [{ name: 'provision staging', status: 'failed', detail: failure }], outputTail: output.lines };
    const checkContext = checkContextFor({
      engine: options.engine,
      containers: environment.containers,
      declaredPorts: Object.fromEntries(Object.values(staging.services).map((service) => [service.name, service.ports.map((port) => port.target)])),
      now: options.now,
      sleep: options.sleep,
      signal: options.signal,
    });
    const results = await runChecks(config.checks, checkContext, { timeoutMs: config.timeout, intervalMs: 500 }, (result) =>
      emitCheck(context, 'staging', result.name, result.status, result.reasons.join('; ')),
    );
    const failed = results.filter((result) => result.status === 'failed');
    return {
      status: failed.length > 0 ? 'failed' : 'passed',
      detail: failed.length > 0 ? `${failed.length} of ${results.length} check(s) failed: ${failed.map((result) => result.name).join(', ')}` : `${results.length} check(s) passed on ${staging.project}`,
      results: results.map((result) => ({ name: result.name, status: result.status, detail: result.reasons.join('; '), durationMs: result.durationMs })),
      outputTail: output.lines,
    };
  } finally {
    await lock.release();
  }
}

/** Provisions a fresh environment for the stage, runs `body`, and always tears it down (unless kept on failure). */
async function withEphemeralEnvironment(
  context: StageContext,
  stage: 'integration' | 'perf',
  body: (environment: Provisioned, output: ReturnType<typeof outputCollector>) => Promise<StageOutcome>,
): Promise<StageOutcome> {
  const { options, model, runId } = context;
  const output = outputCollector(context, stage);
  const suffix = runId.slice(-4);
  const ephemeral = deriveEnvironment(model, { project: `${model.project}-${stage === 'integration' ? 'it' : 'perf'}-${suffix}`, labels: { [LABEL.run]: runId } });
  let outcome: StageOutcome | undefined;
  try {
    const environment = await provision(ephemeral, provisionOptions(context, output));
    crashPoint('pipeline-after-provision');
    const failure = provisioningFailure(environment);
    outcome = failure
      ? { status: 'failed', detail: failure, results: [{ name: `provision ${stage} environment`, status: 'failed', detail: failure }], outputTail: output.lines }
      : await body(environment, output);
    return outcome;
  } finally {
    if (outcome?.status === 'failed' && !options.signal.aborted) {
      // What the failed stage's services said, kept beside the run record before they go (reliability row 34).
      const containers = await options.engine.listContainers(environmentLabels(ephemeral.project, ephemeral.env)).catch(() => []);
      const saved = await saveFailedStageArtifacts({ projectDir: model.projectDir, runId, stage, engine: options.engine, containers }).catch((error: unknown) => {
        output.push(`warning: cannot keep the ${stage} environment's logs: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (saved) output.push(`logs and container states of the ${stage} environment: ${saved}`);
      if (saved && outcome.outputTail !== output.lines) outcome.outputTail.push(`logs and container states of the ${stage} environment: ${saved}`);
    }
    if (outcome?.status === 'failed' && options.keepOnFailure && !options.signal.aborted) {
      const env = model.env === 'default' ? '' : ` --env ${model.env}`;
      const message = `kept for inspection: envctl status --project-name ${ephemeral.project}${env} (remove it with \`envctl runs gc${env}\`, or \`envctl down --project-name ${ephemeral.project}${env} --volumes\`)`;
      output.push(message);
      if (outcome.outputTail !== output.lines) outcome.outputTail.push(message);
    } else {
      await teardown(ephemeral, options.engine, options.emit, options.now);
    }
  }
}

function provisioningFailure(environment: Provisioned): string | undefined {
  if (environment.result.ok) return undefined;
  const failed = environment.result.services.filter((outcome) => outcome.status !== 'ready');
  return failed.length === 0 ? 'cancelled' : failed.map((outcome) => `${outcome.service}: ${outcome.detail}`).join('; ');
}

function provisionOptions(context: StageContext, output: ReturnType<typeof outputCollector>) {
  const { options } = context;
  return {
    engine: options.engine,
    emit: (event: EnvctlEvent) => {
      options.emit(event);
      if (event.type === 'service' && event.phase === 'failed' && event.detail) output.keep(`${event.service} failed: ${event.detail}`);
    },
    signal: options.signal,
    waitTimeoutMs: options.waitTimeoutMs,
    now: options.now,
    sleep: options.sleep,
  };
}

async function runStageCommand(context: StageContext, stage: StageName, command: StageCommand, environment: Provisioned | undefined): Promise<CommandOutcome> {
  const { options, model } = context;
  const onLine = (line: string) => options.emit({ type: 'stage-output', at: context.at(), stage, line });
  const baseEnv = { ENVCTL_RUN_ID: context.runId, ENVCTL_STAGE: stage, ...command.environment };
  if (!command.service) {
    const urls = environment ? serviceUrls(environment.model, environment.containers) : {};
    return runOnHost({ command: command.run, cwd: model.pipelineDir, env: { ...baseEnv, ...urls }, timeoutMs: command.timeout, signal: options.signal, onLine });
  }
  const target = (environment?.model ?? model).services[command.service];
  if (!target) throw new UsageError('UNKNOWN_SERVICE', `pipeline.${stage}.service: no service "${command.service}"`);
  const image = context.images[command.service] ?? (target.build ? (await builtImageRefs(model, options.now))[target.name]!.ref : desiredImage(model, target, {}));
  const network = environment ? Object.values(environment.model.networks).find((candidate) => candidate.key === 'default')?.name ?? Object.values(environment.model.networks)[0]?.name : undefined;
  // Inside the environment's network, services are reached by name on their container ports.
  const internalUrls = environment
    ? Object.fromEntries(
        Object.values(environment.model.services).flatMap((service) => {
          const port = service.ports[0]?.target ?? Number.parseInt(service.expose[0] ?? '', 10);
          return Number.isFinite(port) ? [[`ENVCTL_URL_${service.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, `http://${service.name}:${port}`]] : [];
        }),
      )
    : {};
  return runInImage({
    engine: options.engine,
    image,
    command: command.run,
    env: { ...baseEnv, ...internalUrls, ...(environment ? { ENVCTL_PROJECT: environment.model.project } : {}) },
    // Without an environment (the build stage) the container belongs to the run, never to the
    // developer's environment: `status`, `down` and `--remove-orphans` must not see it.
    labels: { [LABEL.project]: environment ? environment.model.project : `${model.project}-run-${context.runId.slice(-4)}`, [LABEL.env]: model.env, [LABEL.run]: context.runId },
    namePrefix: `${(environment?.model ?? model).prefix}-${stage}`,
    network,
    timeoutMs: command.timeout,
    signal: options.signal,
    now: options.now,
    sleep: options.sleep,
    onLine,
  });
}

function commandResult(command: StageCommand, outcome: CommandOutcome): StageRecord['results'][number] {
  const name = `${command.service ? `${command.service}: ` : ''}${command.run.join(' ')}`;
  if (outcome.problem) return { name, status: 'failed', detail: outcome.problem };
  return outcome.exitCode === 0 ? { name, status: 'passed', detail: 'exited 0' } : { name, status: 'failed', detail: `exited ${outcome.exitCode}` };
}

function emitCheck(context: StageContext, stage: StageName, name: string, status: 'passed' | 'failed', detail: string | undefined): void {
  context.options.emit({ type: 'check', at: context.at(), stage, name, status, ...(detail ? { detail } : {}) });
}

/** Collects a stage's output lines (emitted live, the tail kept for the record). */
function outputCollector(context: StageContext, stage: StageName) {
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  return {
    stage,
    lines,
    keep,
    push: (line: string) => {
      keep(line);
      context.options.emit({ type: 'stage-output', at: context.at(), stage, line });
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
