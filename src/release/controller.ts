/**
 * The release controller (canary.md §3.4): the actor beside the pure judge. It reads the proxy's
 * records and the containers' health and error logs, lets the live judge decide at each second of
 * step time, and acts: next step, gate, promote, roll back. Every transition is appended to
 * `events.jsonl` and written to `state.json` before the next, so a killed controller is resumed
 * from the files (`release resume`), rebuilding the judge from the same recording a replay reads.
 *
 * The proxy keeps serving the last weights whatever happens to the controller; routing changes are
 * one admin call each (no restart), which is what makes rollback instant.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, ExitCode, WorkFailedError } from '../errors.js';
import { crashPoint } from '../fault.js';
import { postJson } from '../pipeline/notify.js';
import { sleep } from '../sleep.js';
import type { AdminClient } from '../proxy/admin-client.js';
import type { RequestRecord, Weights } from '../proxy/types.js';
import type { Verdict } from './analysis/judge.js';
import type { AnalysedArm, ContainerHealth } from './analysis/snapshot.js';
import { createLiveJudge, type LiveJudge } from './live-judge.js';
import { startLoad, type LoadHandle } from './load.js';
import { appendLine, openEventLog, readRequestLog, writeVerdictFile, type EventLog } from './recording/files.js';
import { initialCarry } from './recording/replay.js';
import { requestInputTime, type HealthChange } from './recording/step-judge.js';
import type { ArmRuntime } from './runtime.js';
import {
  dropTrailingFragment,
  readLogLines,
  RELEASE_FILES,
  releaseDir,
  takeControlRequest,
  writeReleaseState,
  type ControlRequest,
  type ReleaseConfigLock,
  type ReleaseState,
  type ReleaseStatus,
} from './store.js';

/** One line for people (and a JSON object for `--json`): what the release just did. */
export interface ReleaseNotice {
  release: string;
  event: string;
  message: string;
  step: number;
  weights: Weights;
}

export interface ReleaseOutcome {
  id: string;
  status: ReleaseStatus;
  exitCode: ExitCode;
  message: string;
  /** The verdicts kept so far (the last explains the outcome). */
  verdicts: readonly Verdict[];
  proxyPort: number | undefined;
}

export interface ControllerOptions {
  /** Where the arms run (containers or swarm services): their health, output and removal. */
  runtime: ArmRuntime;
  admin: AdminClient;
  projectDir: string;
  lock: ReleaseConfigLock;
  state: ReleaseState;
  notify: (notice: ReleaseNotice) => void;
  now: () => Date;
  signal: AbortSignal;
  /**
   * Asks a person at a gate (a TTY); undefined without one: the controller then stops with exit 4
   * and leaves the release waiting for `envctl release approve`.
   */
  confirm: ((question: string, signal: AbortSignal) => Promise<boolean>) | undefined;
  /** How often the controller polls the proxy and the engine (ms); default 1000. */
  pollMs?: number;
  /** Approval already given (by `release approve`, which resumes the controller). */
  initialRequest?: ControlRequest | undefined;
  /** The first controller of a release (not a resume): it reads container output from the release's start. */
  fresh?: boolean;
}

const RECORDS_PAGE = 20_000;
const HORIZON_MARGIN_NS = 1_000_000n;
/** How long to wait for the proxy to pass a moment before giving up on exactness (ms). */
const CATCH_UP_TIMEOUT_MS = 30_000;

export function stepWeights(config: ReleaseConfigLock['config'], step: number): Weights {
  const weight = config.steps[step - 1]!;
  return { canary: weight, baseline: weight, prod: 100 - 2 * weight };
}

export const PROD_ONLY: Weights = { canary: 0, baseline: 0, prod: 100 };
export const CANARY_ONLY: Weights = { canary: 100, baseline: 0, prod: 0 };

/** Health changes recorded in `events.jsonl`, in order. */
export async function readHealthChanges(projectDir: string, id: string): Promise<HealthChange[]> {
  const path = join(releaseDir(projectDir, id), RELEASE_FILES.events);
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text.split('\n');
  const changes: HealthChange[] = [];
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    let event: { event?: unknown; arm: AnalysedArm; health: ContainerHealth; tMonoNs: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      // Only the last line may be cut off (by a crash); a damaged line before it is never skipped silently.
      if (index === lines.length - 1) break;
      throw new WorkFailedError('RECORDING_CORRUPT', `${path}:${index + 1}: not JSON`, 'the release history was edited or damaged; nothing was changed');
    }
    if (event.event === 'health') changes.push({ arm: event.arm, health: event.health, tMonoNs: event.tMonoNs });
  }
  return changes;
}

export async function runController(options: ControllerOptions): Promise<ReleaseOutcome> {
  const controller = new Controller(options);
  return controller.run();
}

class Controller {
  private readonly dir: string;
  private readonly state: ReleaseState;
  private readonly config: ReleaseConfigLock['config'];
  private readonly K: number;
  private events!: EventLog;
  private judge!: LiveJudge;
  private load: LoadHandle | undefined;
  private lastSeq: number;
  /** The proxy's clock at the last poll, and our hrtime then: log lines are stamped from these. */
  private proxyNowNs = 0n;
  private localAtPoll = 0n;
  private horizonNs = 0n;
  private logOrder = 0;
  private healthOrder = 0;
  private readonly health: Record<AnalysedArm, ContainerHealth | undefined> = { canary: undefined, baseline: undefined };
  private readonly logFollowers = new AbortController();
  private logWrites: Promise<void> = Promise.resolve();
  /** The highest seq of a record of the release's steps (for the flush check before the verdict file). */
  private highestStepSeq = 0;
  private pendingRequest: ControlRequest | undefined;
  private asking: AbortController | undefined;
  /** Webhook deliveries, chained (awaited before the controller returns). */
  private webhooks: Promise<void> = Promise.resolve();

  constructor(private readonly options: ControllerOptions) {
    this.dir = releaseDir(options.projectDir, options.state.id);
    this.state = options.state;
    this.config = options.lock.config;
    this.K = this.config.steps.length;
    this.lastSeq = 0;
    this.pendingRequest = options.initialRequest;
  }

  async run(): Promise<ReleaseOutcome> {
    await dropTrailingFragment(join(this.dir, RELEASE_FILES.events));
    await dropTrailingFragment(join(this.dir, RELEASE_FILES.logs));
    this.events = await openEventLog(join(this.dir, RELEASE_FILES.events));
    try {
      await this.rebuild();
      this.followLogs();
      const pending = this.state.pending;
      if (pending) {
        // Killed while ending: finish that ending, whatever the judge would say now.
        return await this.end(pending.status, pending.status === 'promoted' ? CANARY_ONLY : PROD_ONLY, pending.reason, pending.actor);
      }
      if (this.config.load.rps > 0 && this.state.proxy) this.load = startLoad({ url: `http://127.0.0.1:${this.state.proxy.hostPort}${this.config.load.path}`, rps: this.config.load.rps });
      return await this.loop();
    } finally {
      this.asking?.abort();
      this.logFollowers.abort();
      await this.load?.stop().catch(() => undefined);
      await this.logWrites.catch(() => undefined);
      await this.events.close().catch(() => undefined);
      await this.webhooks;
    }
  }

  // ---- state ----------------------------------------------------------------------------------

  private async transition(event: string, patch: Partial<ReleaseState>, extra: Record<string, unknown>, message: string): Promise<void> {
    if (this.state.status === 'gate' && patch.status !== undefined && patch.status !== 'gate') {
      // The gate closed (approved elsewhere, timed out): a question still on screen belongs to it.
      this.asking?.abort();
      this.asking = undefined;
    }
    Object.assign(this.state, patch, { updatedAt: this.options.now().toISOString() });
    await this.events.append({
      release: this.state.id,
      event,
      at: this.state.updatedAt,
      step: this.state.step,
      weight: this.state.step >= 1 && this.state.step <= this.K ? this.config.steps[this.state.step - 1] : null,
      weights: this.state.weights,
      status: this.state.status,
      ...extra,
    });
    await writeReleaseState(this.options.projectDir, this.state);
    this.options.notify({ release: this.state.id, event, message, step: this.state.step, weights: this.state.weights });
    const payload = { release: this.state.id, event, at: this.state.updatedAt, step: this.state.step, weights: this.state.weights, status: this.state.status, message, ...extra };
    // One after the other, so the receiver hears the transitions in order.
    this.webhooks = this.webhooks.then(() => announce(this.config, payload, this.options.notify));
  }

  // ---- inputs -----------------------------------------------------------------------------------

  /** Rebuilds the judge from the recording: the same inputs, the same instants as the replay. */
  private async rebuild(): Promise<void> {
    const healthChanges = await readHealthChanges(this.options.projectDir, this.state.id);
    const logLines = await readLogLines(this.options.projectDir, this.state.id);
    const starts = Object.entries(this.state.stepStartsNs)
      .map(([step, t]) => [Number(step), BigInt(t)] as const)
      .filter(([step]) => step >= 1 && step <= this.K)
      .sort((a, b) => a[0] - b[0]);
    this.judge = createLiveJudge({ config: this.config, steps: this.K, seed: this.options.lock.seed, carry: initialCarry(healthChanges, starts[0]?.[1]) });
    healthChanges.forEach((change, order) => this.judge.offer({ kind: 'health', t: BigInt(change.tMonoNs), order, change }));
    logLines.forEach((line, order) => this.judge.offer({ kind: 'log', t: BigInt(line.tMonoNs), order, line }));
    this.healthOrder = healthChanges.length;
    this.logOrder = logLines.length;
    for (const change of healthChanges) this.health[change.arm] = change.health;
    await this.poll();
    for (const [index, [step, startNs]] of starts.entries()) {
      const next = starts[index + 1]?.[1];
      this.judge.beginStep(step, startNs);
      this.judge.advanceTo(this.horizonNs, next);
    }
  }

  /** Reads new records (and the proxy's clock); returns false when the proxy does not answer. */
  private async poll(): Promise<void> {
    for (;;) {
      const page = await this.options.admin.records(this.lastSeq, RECORDS_PAGE);
      if ('gone' in page) {
        // The proxy's memory no longer holds them: its file does (flushed every second).
        const log = await readRequestLog(join(this.dir, RELEASE_FILES.requests));
        for (const record of log.records) if (record.seq > this.lastSeq) this.offerRecord(record);
        if (this.lastSeq < page.oldestSeq - 1) {
          throw new EnvironmentError('RELEASE_RECORDS_LOST', `the proxy no longer holds records after ${this.lastSeq} and its file does not either`, 'abort the release (`envctl release abort`) and start it again');
        }
        continue;
      }
      if (page.lastSeq < this.lastSeq) {
        // The proxy restarted and lost its last unflushed second: those records (read before) are
        // not in its file, so a replay of this release may differ from its verdict.json.
        this.options.notify({ release: this.state.id, event: 'warning', message: `the proxy restarted and lost records ${page.lastSeq + 1}-${this.lastSeq} (its last second before the restart); carrying on`, step: this.state.step, weights: this.state.weights });
        this.lastSeq = page.lastSeq;
        continue;
      }
      for (const record of page.records) this.offerRecord(record);
      this.proxyNowNs = BigInt(page.nowNs);
      this.localAtPoll = process.hrtime.bigint();
      // Requests are judged at their finish (requestInputTime), and a record exists from its finish:
      // everything up to the proxy's now is here (less a margin for the µs rounding of totalUs).
      this.horizonNs = this.proxyNowNs - HORIZON_MARGIN_NS;
      if (page.records.length < RECORDS_PAGE) return;
    }
  }

  private offerRecord(record: RequestRecord): void {
    if (record.seq <= this.lastSeq) return;
    this.lastSeq = record.seq;
    if (record.step >= 1 && record.step <= this.K) this.highestStepSeq = record.seq;
    this.judge.offer({ kind: 'request', t: requestInputTime(record), order: record.seq, record });
  }

  /** Now on the proxy's clock, never at or before an instant already judged. */
  private stamp(): bigint {
    const estimate = this.proxyNowNs + (process.hrtime.bigint() - this.localAtPoll);
    return estimate > this.judge.lastJudgedNs ? estimate : this.judge.lastJudgedNs + 1n;
  }

  private followLogs(): void {
    const pattern = new RegExp(this.config.logErrorPattern);
    const containers = this.state.containers;
    const arms: Array<[AnalysedArm | 'prod', { id: string; name: string } | null]> = [
      ['canary', containers.canary],
      ['baseline', containers.baseline],
      ['prod', containers.prod],
    ];
    for (const [arm, container] of arms) {
      if (!container) continue;
      void (async () => {
        try {
          // A fresh release reads the containers' output from their start (a canary's start-up
          // Traceback counts); a resumed one from now (earlier lines are in logs.jsonl or lost).
          const from = this.options.fresh ? { since: Math.floor(Date.parse(this.state.startedAt) / 1000) } : { tail: 0 };
          for await (const entry of this.options.runtime.followLogs(container, from, this.logFollowers.signal)) {
            if (!pattern.test(entry.text)) continue;
            const line = { arm, line: entry.text, tMonoNs: this.stamp().toString() };
            this.judge.offer({ kind: 'log', t: BigInt(line.tMonoNs), order: this.logOrder++, line });
            const text = `${JSON.stringify(line)}\n`;
            // A line the judge counted but the file lost makes the replay differ: say so, never crash.
            this.logWrites = this.logWrites
              .then(() => appendLine(join(this.dir, RELEASE_FILES.logs), text))
              .catch((error: unknown) => this.warnOnce(`${(error as Error).message}: a replay of this release may differ`));
          }
        } catch {
          // The container stopped or the release ended; health tells the judge about a stopped one.
        }
      })();
    }
  }

  private warned = new Set<string>();

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.notify({ release: this.state.id, event: 'warning', message, step: this.state.step, weights: this.state.weights });
  }

  private async checkHealth(): Promise<void> {
    for (const arm of ['canary', 'baseline'] as const) {
      const container = this.state.containers[arm];
      if (!container) continue;
      // Only a slot the engine no longer has is gone; any other engine error is no data.
      const health = await this.options.runtime.health(container);
      if (health === undefined) continue;
      if (health === this.health[arm]) continue;
      this.health[arm] = health;
      const change: HealthChange = { arm, health, tMonoNs: this.stamp().toString() };
      this.judge.offer({ kind: 'health', t: BigInt(change.tMonoNs), order: this.healthOrder++, change });
      await this.events.append({ release: this.state.id, event: 'health', at: this.options.now().toISOString(), step: this.state.step, ...change });
    }
  }

  // ---- the loop ---------------------------------------------------------------------------------

  private async loop(): Promise<ReleaseOutcome> {
    const pollMs = this.options.pollMs ?? 1000;
    let lastProgress = 0;
    for (;;) {
      if (this.options.signal.aborted) return this.outcome(ExitCode.cancelled, 'stopped: the proxy keeps serving the current weights; `envctl release resume` continues, `envctl release abort` ends it');
      const request = this.pendingRequest ?? (await takeControlRequest(this.options.projectDir, this.state.id));
      this.pendingRequest = undefined;
      if (request?.action === 'abort') return this.end('aborted', PROD_ONLY, `aborted by ${request.actor}`, request.actor);

      await this.checkHealth();
      await this.poll();
      const verdicts = this.judge.advanceTo(this.horizonNs);
      for (const verdict of verdicts) await this.recordVerdict(verdict);
      const step = this.judge.current;

      if (step?.terminal()) {
        const last = this.judge.verdicts.at(-1)!;
        if (last.action === 'inconclusive') {
          // canary.md §3.3(d): interactive → pause and ask; CI → inconclusive (exit 4).
          if (!this.options.confirm) return this.end('inconclusive', PROD_ONLY, summary(last), 'judge');
          if (this.state.status !== 'gate') await this.enterGate(`inconclusive: ${summary(last)}; approve promotes anyway`);
        } else if (this.config.onRegression === 'pause' && this.state.status !== 'gate') {
          await this.enterGate(`regression (onRegression: pause): ${summary(last)}`);
        } else if (this.config.onRegression !== 'pause') {
          return this.end('rolled-back', PROD_ONLY, summary(last), 'judge');
        }
      } else if (step?.decided?.action === 'advance') {
        const next = await this.nextStep('judge');
        if (next) return next;
        continue;
      } else if (step?.decided?.action === 'gate' && this.state.status !== 'gate') {
        if (this.state.approvedStep === step.step) {
          // Approved, then killed before the next step started: carry on.
          const next = await this.nextStep('resume');
          if (next) return next;
          continue;
        }
        await this.enterGate(summary(step.decided));
      }

      if (this.state.status === 'gate') {
        if (this.state.gate && this.options.now() >= new Date(this.state.gate.timeoutAt)) {
          // Checked before any approval: an approval that comes after the timeout is too late.
          return this.end('aborted', PROD_ONLY, `the gate was not approved within ${Math.round(this.config.gateTimeout / 60_000)} min (gateTimeout)`, 'gate-timeout');
        }
        if (request?.action === 'approve' && step?.terminal()) {
          // Paused on a regression (onRegression: pause): the person overrides the judge.
          return this.end('promoted', CANARY_ONLY, `promoted by ${request.actor} over the judge's verdict (${summary(this.judge.verdicts.at(-1)!)})`, request.actor);
        }
        if (request?.action === 'approve') {
          await this.transition('approved', { status: 'running', gate: null, approvedStep: this.judge.current?.step ?? null }, { actor: request.actor }, `approved by ${request.actor}`);
          const next = await this.nextStep(request.actor);
          if (next) return next;
          continue;
        }
        if (!this.options.confirm) return this.outcome(ExitCode.undecided, `waiting at the gate: ${this.state.gate?.reason ?? ''}; approve with \`envctl release approve ${this.state.id}\` or end it with \`envctl release abort ${this.state.id}\``);
        this.ask();
      }

      const nowMs = Date.now();
      if (nowMs - lastProgress >= 10_000 && step && !step.finished()) {
        lastProgress = nowMs;
        const last = step.last;
        if (last) {
          const stats = last.stats;
          this.options.notify({
            release: this.state.id,
            event: 'progress',
            message: `step ${step.step}/${this.K}: ${Math.round(stats.elapsedMs / 1000)} s, analysed canary ${stats.analysed.canary} / baseline ${stats.analysed.baseline} of ${this.config.stepMinRequests}${stats.warmingUp ? ' (warming up)' : ''}`,
            step: step.step,
            weights: this.state.weights,
          });
        }
      }
      await sleep(pollMs, this.options.signal);
    }
  }

  private ask(): void {
    if (this.asking || !this.options.confirm) return;
    const asking = new AbortController();
    this.asking = asking;
    const question = `release ${this.state.id}: ${this.state.gate?.reason ?? 'gate'}. Continue?`;
    const gate = this.state.gate?.since;
    this.options.confirm(question, asking.signal).then(
      (yes) => {
        this.asking = undefined;
        // An answer counts for the gate it was asked at, never for a later one.
        if (this.state.status === 'gate' && this.state.gate?.since === gate) {
          this.pendingRequest = { action: yes ? 'approve' : 'abort', actor: 'terminal', at: this.options.now().toISOString() };
        }
      },
      () => {
        this.asking = undefined;
      },
    );
  }

  private async enterGate(reason: string): Promise<void> {
    const now = this.options.now();
    const gate = { reason, since: now.toISOString(), timeoutAt: new Date(now.getTime() + this.config.gateTimeout).toISOString() };
    await this.transition('gate', { status: 'gate', gate }, { reason }, `waiting at the gate: ${reason}`);
  }

  private async recordVerdict(verdict: Verdict): Promise<void> {
    await this.events.append({
      release: this.state.id,
      event: 'verdict',
      at: this.options.now().toISOString(),
      step: this.judge.current?.step ?? this.state.step,
      action: verdict.action,
      reasons: verdict.reasons,
      stats: verdict.stats,
      actor: 'judge',
    });
    this.options.notify({ release: this.state.id, event: 'verdict', message: `judge: ${verdict.action}: ${summary(verdict)}`, step: this.state.step, weights: this.state.weights });
  }

  /** After an advance (or an approved gate): the next step, or promotion after the last. */
  private async nextStep(actor: string): Promise<ReleaseOutcome | undefined> {
    const current = this.judge.current!;
    if (current.step >= this.K) return this.end('promoted', CANARY_ONLY, `promoted after ${this.K} steps`, actor);
    const step = current.step + 1;
    const weights = stepWeights(this.config, step);
    const applied = await this.options.admin.setWeights(weights, step);
    crashPoint('release-after-step-weights');
    // Instants up to the switch still belong to the old step (the judge ran on during a gate).
    const rolledBack = await this.closeStep(BigInt(applied.appliedNs));
    if (rolledBack) return rolledBack;
    this.judge.beginStep(step, BigInt(applied.appliedNs));
    await this.transition(
      'step',
      { status: 'running', step, weights, stepStartsNs: { ...this.state.stepStartsNs, [step]: applied.appliedNs }, lastSeq: this.lastSeq },
      { tMonoNs: applied.appliedNs, actor },
      `step ${step}/${this.K}: canary ${weights.canary}% · baseline ${weights.baseline}% · prod ${weights.prod}%`,
    );
    return undefined;
  }

  /** Judges the current step up to `endNs` (once the proxy has passed it); a rollback found there wins. */
  private async closeStep(endNs: bigint): Promise<ReleaseOutcome | undefined> {
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    while (this.horizonNs < endNs && Date.now() < deadline) {
      await sleep(100, this.options.signal).catch(() => undefined);
      await this.poll();
    }
    for (const verdict of this.judge.advanceTo(this.horizonNs, endNs)) await this.recordVerdict(verdict);
    if (this.judge.current?.terminal() && this.judge.verdicts.at(-1)?.action === 'rollback') {
      return this.end('rolled-back', PROD_ONLY, summary(this.judge.verdicts.at(-1)!), 'judge');
    }
    return undefined;
  }

  /** Ends the release: the final weights (one admin call), the files, the containers no longer needed. */
  private async end(status: 'promoted' | 'rolled-back' | 'aborted' | 'inconclusive', weights: Weights, reason: string, actor: string): Promise<ReleaseOutcome> {
    // The intent first: a controller killed after the weights changed finishes this on resume.
    this.state.pending = { status, reason, actor };
    await writeReleaseState(this.options.projectDir, this.state);
    crashPoint('release-after-pending');
    const applied = await this.options.admin.setWeights(weights, this.K + 1);
    crashPoint('release-after-final-weights');
    const endNs = BigInt(applied.appliedNs);
    if (this.judge.current && !this.judge.current.finished()) {
      // A rollback found in the instants before the end wins (for an abort, the same safe state).
      const late = await this.closeStep(endNs);
      if (late) return late;
    }
    this.judge.finishStep();
    await this.load?.stop().catch(() => undefined);
    this.load = undefined;
    this.logFollowers.abort();
    await this.logWrites.catch(() => undefined);
    await this.waitForRecording();
    await writeVerdictFile(join(this.dir, RELEASE_FILES.verdict), this.judge.verdicts);

    const removed: Array<'canary' | 'baseline'> = status === 'promoted' ? ['baseline'] : ['canary', 'baseline'];
    for (const slot of removed) {
      const container = this.state.containers[slot];
      if (container) await this.options.runtime.remove(container).catch(() => undefined);
    }
    const promotedCanary = status === 'promoted' ? this.state.containers.canary : null;
    if (promotedCanary && this.options.runtime.promote) {
      await this.options.runtime.promote(promotedCanary, this.state.containers.prod).catch((error: unknown) => {
        this.warnOnce(`the promoted version does not restart after a crash (updating its restart policy failed: ${(error as Error).message}); \`docker update --restart unless-stopped ${promotedCanary.name}\` sets it`);
      });
    }
    const containers = { ...this.state.containers, baseline: null, ...(status === 'promoted' ? {} : { canary: null }) };
    const retainUntil = status === 'promoted' ? new Date(this.options.now().getTime() + this.config.retainPrevious).toISOString() : null;
    await this.transition(
      status,
      { status, weights, gate: null, outcome: reason, containers, retainUntil, endNs: applied.appliedNs, lastSeq: this.lastSeq, pending: null },
      { tMonoNs: applied.appliedNs, actor, reason },
      `${status}: ${reason}`,
    );
    return this.outcome(status === 'promoted' ? ExitCode.ok : status === 'inconclusive' ? ExitCode.undecided : ExitCode.failed, `${status}: ${reason}`);
  }

  /** The proxy flushes its file every second: wait until it holds every record the judge read. */
  private async waitForRecording(): Promise<void> {
    const path = join(this.dir, RELEASE_FILES.requests);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const log = await readRequestLog(path).catch(() => undefined);
      if (log && (log.records.at(-1)?.seq ?? 0) >= this.highestStepSeq) return;
      await sleep(250, AbortSignal.timeout(1000)).catch(() => undefined);
    }
  }

  private outcome(exitCode: ExitCode, message: string): ReleaseOutcome {
    return { id: this.state.id, status: this.state.status, exitCode, message, verdicts: this.judge.verdicts, proxyPort: this.state.proxy?.hostPort };
  }
}

/**
 * `release.notify.webhook` receives every transition as a JSON POST (canary.md §3.6: the same
 * object as the `events.jsonl` line). Best effort: a failed delivery is a warning, never a change
 * of the release.
 */
export async function announce(config: ReleaseConfigLock['config'], event: Record<string, unknown>, notify: (notice: ReleaseNotice) => void): Promise<void> {
  const webhook = config.notify.webhook;
  if (!webhook) return;
  const result = await postJson(webhook, event, { timeoutMs: 10_000, signal: AbortSignal.timeout(15_000) });
  if (!result.ok) notify({ release: String(event.release ?? ''), event: 'warning', message: `notification of ${String(event.event)} failed: ${result.detail}`, step: Number(event.step ?? 0), weights: (event.weights as Weights | undefined) ?? PROD_ONLY });
}

/** The verdict's reasons in one line. */
export function summary(verdict: Verdict): string {
  return verdict.reasons.map((reason) => reason.message).join('; ') || verdict.action;
}

