/**
 * One step's decisions, made the same way live (the controller) and afterwards (`release judge
 * --replay`): inputs go in in time order, the judge runs at whole seconds of step time
 * (`DECISION_INTERVAL_NS` after the step start, canary.md §3.4), and the verdicts that count are
 * kept. Sharing this is what makes a replay reproduce the live verdicts byte for byte: both sides
 * feed the same inputs and judge at the same instants.
 *
 * Kept verdicts: the step's first decisive one (advance, gate, rollback, inconclusive); after a gate
 * the judge keeps running and a later rollback or inconclusive is kept too. A step that ends
 * without a decision keeps its last verdict (`finish()`), which is how an interrupted step shows.
 */
import type { RequestRecord } from '../../proxy/types.js';
import { judge, type JudgeConfig, type Verdict } from '../analysis/judge.js';
import type { AnalysedArm, ContainerHealth } from '../analysis/snapshot.js';
import { createStepAggregator, type AggregatorConfig, type FingerprintTally, type LogLine } from './step-aggregator.js';

/** The controller judges once per second of step time. */
export const DECISION_INTERVAL_NS = 1_000_000_000n;

export type ReplayConfig = JudgeConfig & AggregatorConfig;

export interface HealthChange {
  arm: AnalysedArm;
  health: ContainerHealth;
  /** Monotonic ns (decimal string), on the proxy's clock. */
  tMonoNs: string;
}

/**
 * When a request is judged: when it finished (arrival + total time), not when it arrived. Records
 * exist from their finish on, so "every request finished by now is here" holds at any moment and a
 * long request (a WebSocket, a stream) never holds the judge back; live and replay use the same time.
 */
export function requestInputTime(record: Pick<RequestRecord, 'tMonoNs' | 'totalUs'>): bigint {
  return BigInt(record.tMonoNs) + BigInt(Math.max(0, Math.round(record.totalUs))) * 1000n;
}

export type JudgeInput =
  | { kind: 'health'; t: bigint; order: number; change: HealthChange }
  | { kind: 'request'; t: bigint; order: number; record: RequestRecord }
  | { kind: 'log'; t: bigint; order: number; line: LogLine };

// At the same instant: health first (a crash explains the requests around it), then requests, then logs.
const KIND_ORDER: Readonly<Record<JudgeInput['kind'], number>> = { health: 0, request: 1, log: 2 };
const TERMINAL: ReadonlySet<Verdict['action']> = new Set(['rollback', 'inconclusive']);

/** Time order, then health → request → log, then arrival order (`seq` for requests). */
export function compareInputs(a: JudgeInput, b: JudgeInput): number {
  return a.t < b.t ? -1 : a.t > b.t ? 1 : KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.order - b.order;
}

/** What a step hands to the next: the slow threshold's baseline, the fingerprints, the health. */
export interface StepCarry {
  previousBaselineLatenciesMs: Float64Array | null;
  fingerprints: FingerprintTally;
  health: Readonly<Record<AnalysedArm, ContainerHealth>>;
}

export interface StepJudgeOptions {
  step: number;
  startNs: bigint;
  config: ReplayConfig;
  /** K, the number of steps the α budget is split over. */
  steps: number;
  seed: number;
  carry: StepCarry;
  latencyCapPerArm?: number;
}

export interface StepJudge {
  readonly step: number;
  readonly startNs: bigint;
  /** The next instant the judge runs at. */
  readonly nextDecisionNs: bigint;
  /** The step's first decisive verdict, or null. */
  readonly decided: Verdict | null;
  /** The latest verdict, kept or not. */
  readonly last: Verdict | null;
  /** Verdicts kept so far, in order. */
  readonly kept: readonly Verdict[];
  /** Adds one input; callers add in `compareInputs` order and never before the current decision time. */
  add(input: JudgeInput): void;
  /** Judges at `nextDecisionNs` and moves it on by a second; returns the verdict if it was kept. */
  judgeNext(): Verdict | null;
  /** True once the step is over: advanced, rolled back or inconclusive. */
  finished(): boolean;
  /** True once the latest verdict ended the release: rolled back or inconclusive. */
  terminal(): boolean;
  /** Ends the step: keeps the last verdict when there was no decision. */
  finish(): void;
  carry(): StepCarry;
}

export function createStepJudge(options: StepJudgeOptions): StepJudge {
  const { step, startNs, config, steps, seed, carry } = options;
  const aggregator = createStepAggregator({
    step,
    stepStartNs: startNs.toString(),
    config,
    seed,
    previousBaselineLatenciesMs: carry.previousBaselineLatenciesMs,
    previousFingerprints: carry.fingerprints,
    health: carry.health,
    ...(options.latencyCapPerArm === undefined ? {} : { latencyCapPerArm: options.latencyCapPerArm }),
  });
  let health: Record<AnalysedArm, ContainerHealth> = { ...carry.health };
  let nextDecisionNs = startNs + DECISION_INTERVAL_NS;
  let decided: Verdict | null = null;
  let last: Verdict | null = null;
  // Input since the last verdict: after a decision, identical seconds are skipped.
  let changed = false;
  let terminal = false;
  let ended = false;
  const kept: Verdict[] = [];

  const judgeNow = (): Verdict | null => {
    const at = nextDecisionNs;
    nextDecisionNs += DECISION_INTERVAL_NS;
    if (decided !== null && !changed) return null;
    const verdict = judge(aggregator.snapshot(at.toString()), config, steps);
    changed = false;
    last = verdict;
    terminal = TERMINAL.has(verdict.action);
    const keep = decided === null ? verdict.action !== 'continue' : terminal;
    if (decided === null && verdict.action !== 'continue') decided = verdict;
    if (!keep) return null;
    kept.push(verdict);
    return verdict;
  };

  return {
    step,
    startNs,
    get nextDecisionNs() {
      return nextDecisionNs;
    },
    get decided() {
      return decided;
    },
    get last() {
      return last;
    },
    kept,
    add(input) {
      if (input.kind === 'request') aggregator.addRequest(input.record);
      else if (input.kind === 'log') aggregator.addLogLine(input.line);
      else {
        aggregator.setHealth(input.change.arm, input.change.health);
        health = { ...health, [input.change.arm]: input.change.health };
      }
      changed = true;
    },
    judgeNext: judgeNow,
    finished: () => terminal || decided?.action === 'advance',
    terminal: () => terminal,
    finish() {
      if (ended) return;
      ended = true;
      if (decided === null && last !== null) kept.push(last);
    },
    carry: () => ({ previousBaselineLatenciesMs: aggregator.baselineLatenciesMs(), fingerprints: aggregator.fingerprints(), health }),
  };
}
