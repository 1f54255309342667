import { Flags } from '@oclif/core';
import { durationFlag, EnvctlCommand, isCi } from '../cli/base-command.js';
import { runCancellable, sleep } from '../cli/cancellation.js';
import { parseDurationMs } from '../definition/values.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { ExitCode } from '../errors.js';
import { STAGES } from '../events.js';
import { writeJUnitFile } from '../pipeline/junit.js';
import { notify } from '../pipeline/notify.js';
import { runToJUnit } from '../pipeline/reports.js';
import { runPipeline, type PipelineResult } from '../pipeline/runner.js';
import { sanitizeLine } from '../ui/sanitize.js';
import { createPipelineRenderer } from '../ui/render-progress.js';

export default class PipelineCommand extends EnvctlCommand {
  static override summary = 'Run the pipeline: build → integration → perf → staging → release, exactly as CI runs it.';
  static override description =
    'Stages come from the `pipeline:` section. Integration and perf run on fresh environments of their own (removed afterwards); staging converges the long-lived `<name>-staging` environment and runs its infrastructure checks; release runs the canary release of `envctl release start` against production (skipped when production is not running; exit 4 when it is undecided). A failing stage skips the rest and exits 1; every run is recorded under .envctl/runs/<id>/ (see `envctl runs`). CI=true (or --ci) changes only the output.';
  static override examples = ['<%= config.bin %> pipeline', '<%= config.bin %> pipeline --to integration --junit reports/envctl.xml', '<%= config.bin %> pipeline --only staging --json'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    from: Flags.string({ description: 'first stage to run', options: [...STAGES] }),
    to: Flags.string({ description: 'last stage to run', options: [...STAGES] }),
    only: Flags.string({ description: 'run just this stage', options: [...STAGES], exclusive: ['from', 'to'] }),
    junit: Flags.string({ description: 'write a JUnit XML report here (one test case per stage, check and threshold)' }),
    'keep-on-failure': Flags.boolean({ description: 'keep a failed stage’s ephemeral environment for inspection (`envctl runs gc` removes it); also ENVCTL_KEEP_FAILED=1', env: 'ENVCTL_KEEP_FAILED', default: false }),
    locked: Flags.boolean({ description: 'refuse to run unless every service\'s image is the one envctl.lock names (exit 1 naming the differences, 2 without a lock); the run record keeps the lock', default: false }),
    ci: Flags.boolean({ description: 'render as in CI (plain lines); same as CI=true', default: false }),
    'wait-timeout': durationFlag({ description: 'how long each service may take to become ready (e.g. 90s, 5m)', default: parseDurationMs('3m') }),
  };

  async run(): Promise<PipelineResult> {
    const { flags } = await this.parse(PipelineCommand);
    const waitTimeoutMs = flags['wait-timeout'];
    const load = this.actingLoadOptions(flags);
    const mode = flags.ci && this.outputMode() === 'tty' ? 'plain' : this.outputMode();
    const renderer = createPipelineRenderer(mode, { stderr: process.stderr });
    const result: PipelineResult = await runCancellable(renderer, 'removing this run’s environments', (signal) =>
      runPipeline({
        load,
        engine: DockerEngine.fromEnv(process.env),
        from: flags.from as PipelineResult['failedStage'],
        to: flags.to as PipelineResult['failedStage'],
        only: flags.only as PipelineResult['failedStage'],
        keepOnFailure: flags['keep-on-failure'],
        locked: flags.locked,
        ci: flags.ci || isCi(process.env),
        emit: renderer.sink,
        signal,
        now: Date.now,
        sleep,
        random: Math.random,
        waitTimeoutMs,
      }),
    );
    if (flags.junit) {
      // A report that cannot be written is a warning: the run's own result and notification stand.
      await writeJUnitFile(flags.junit, runToJUnit(result.record)).catch((error: unknown) =>
        process.stderr.write(`warning: cannot write the JUnit report ${flags.junit}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`),
      );
    }
    const notifyConfig = result.notify;
    if (notifyConfig) {
      const outcome = await notify(
        notifyConfig,
        {
          runId: result.runId,
          project: result.project,
          env: result.env,
          status: result.status,
          ...(result.failedStage ? { failedStage: result.failedStage } : {}),
          ...(result.failedCheck ? { failedCheck: result.failedCheck } : {}),
          startedAt: result.record.startedAt,
          durationMs: result.durationMs,
          stages: result.record.stages.map((stage) => ({ name: stage.name, status: stage.status, durationMs: stage.durationMs ?? 0 })),
          recordPath: result.recordPath,
        },
        { cwd: result.projectDir, env: process.env, timeoutMs: 10_000, signal: AbortSignal.timeout(30_000) },
      );
      for (const sent of outcome.sent.filter((entry) => !entry.ok)) process.stderr.write(`warning: notification by ${sent.channel} failed: ${sent.detail}\n`);
    }
    if (!this.jsonEnabled()) {
      const failed = result.record.stages.find((stage) => stage.status === 'failed');
      if (failed) {
        // Details and output come from containers and commands: sanitised before they reach the terminal.
        process.stderr.write(`\nstage ${failed.name} failed: ${sanitizeLine(failed.detail ?? '')}\n`);
        for (const check of failed.results.filter((entry) => entry.status === 'failed')) process.stderr.write(`  ✗ ${sanitizeLine(check.name)}: ${sanitizeLine(check.detail ?? '')}\n`);
        if (failed.outputTail.length > 0) process.stderr.write(`last output of ${failed.name}:\n${failed.outputTail.slice(-20).map((line) => `  ${sanitizeLine(line)}`).join('\n')}\n`);
      }
      process.stdout.write(`run ${result.runId} ${result.status} (${(result.durationMs / 1000).toFixed(1)}s); record: ${result.recordPath}\n`);
    }
    process.exitCode = result.status === 'passed' ? ExitCode.ok : result.status === 'cancelled' ? ExitCode.cancelled : result.undecided ? ExitCode.undecided : ExitCode.failed;
    return result;
  }
}
