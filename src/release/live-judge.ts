/**
 * The controller's side of the step judge: inputs arrive out of order (requests finish in any
 * order, log lines come from three streams), so they wait here until they are final, then go to the
 * step judge in the order a replay sorts them. Final means: before the proxy's watermark (every
 * request that arrived earlier has its record) and stamped no later than the decision instant.
 * No I/O and no clock: the controller supplies the horizon, so this is tested without Docker.
 */
import type { Verdict } from './analysis/judge.js';
import { compareInputs, createStepJudge, type JudgeInput, type ReplayConfig, type StepCarry, type StepJudge } from './recording/step-judge.js';

export interface LiveJudgeOptions {
  config: ReplayConfig;
  steps: number;
  seed: number;
  carry: StepCarry;
  latencyCapPerArm?: number;
}

export interface LiveJudge {
  /** The current step's judge; undefined before the first step. */
  readonly current: StepJudge | undefined;
  /** The latest instant judged (ns); log lines and health changes must be stamped after it. */
  readonly lastJudgedNs: bigint;
  /** Every verdict kept so far, all steps. */
  readonly verdicts: readonly Verdict[];
  offer(input: JudgeInput): void;
  /** Starts a step (its weights were applied at `startNs`), carrying over from the previous one. */
  beginStep(step: number, startNs: bigint): void;
  /**
   * Judges every decision instant up to `horizonNs` (and `capNs`, the step's end, when given) until
   * the step finishes; returns the verdicts kept on the way.
   */
  advanceTo(horizonNs: bigint, capNs?: bigint): Verdict[];
  /** Ends the current step (keeps its last verdict when it had no decision). */
  finishStep(): Verdict[];
}

export function createLiveJudge(options: LiveJudgeOptions): LiveJudge {
  let current: StepJudge | undefined;
  let carry = options.carry;
  let pending: JudgeInput[] = [];
  let lastJudgedNs = 0n;
  const verdicts: Verdict[] = [];

  const belongs = (input: JudgeInput, judge: StepJudge): boolean =>
    input.kind === 'request' ? input.record.step === judge.step : input.t >= judge.startNs;

  /** Feeds the pending inputs stamped at or before `atNs`, in replay order. */
  const feedUntil = (judge: StepJudge, atNs: bigint): void => {
    const ready = pending.filter((input) => input.t <= atNs);
    if (ready.length === 0) return;
    pending = pending.filter((input) => input.t > atNs);
    for (const input of ready.sort(compareInputs)) if (belongs(input, judge)) judge.add(input);
  };

  return {
    get current() {
      return current;
    },
    get lastJudgedNs() {
      return lastJudgedNs;
    },
    verdicts,
    offer(input) {
      pending.push(input);
    },
    beginStep(step, startNs) {
      if (current) carry = current.carry();
      current = createStepJudge({
        step,
        startNs,
        config: options.config,
        steps: options.steps,
        seed: options.seed,
        carry,
        ...(options.latencyCapPerArm === undefined ? {} : { latencyCapPerArm: options.latencyCapPerArm }),
      });
      // Inputs of earlier steps that were never judged (they came after that step's decision) are dropped.
      pending = pending.filter((input) => (input.kind === 'request' ? input.record.step >= step : input.t >= startNs));
    },
    advanceTo(horizonNs, capNs) {
      const judge = current;
      if (!judge) return [];
      const kept: Verdict[] = [];
      const limit = capNs !== undefined && capNs < horizonNs ? capNs : horizonNs;
      while (!judge.finished() && judge.nextDecisionNs <= limit) {
        const at = judge.nextDecisionNs;
        feedUntil(judge, at);
        const verdict = judge.judgeNext();
        lastJudgedNs = at;
        if (verdict) {
          kept.push(verdict);
          verdicts.push(verdict);
        }
      }
      return kept;
    },
    finishStep() {
      const judge = current;
      if (!judge) return [];
      const before = judge.kept.length;
      judge.finish();
      const added = judge.kept.slice(before);
      verdicts.push(...added);
      return added;
    },
  };
}
