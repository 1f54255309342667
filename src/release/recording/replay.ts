/**
 * `envctl release judge --replay` (canary.md §3.6): re-runs the step aggregation and the pure judge
 * on a release's recorded requests and log lines, at the moments the controller judges (every 1 s of
 * record time after each step start, canary.md §3.4), and renders the verdicts as `verdict.json`.
 * Deterministic: the same input gives the same verdicts and the same bytes.
 *
 * Per step, the replay returns the first decisive verdict (advance, gate, rollback, inconclusive).
 * After a gate the judge keeps running until the step ends, as the controller does while it waits
 * for approval, so a later rollback is returned too. Rollback and inconclusive end the release.
 * A step whose records end without a decision returns its last verdict (`continue`), which is how
 * an interrupted recording shows.
 */
import stringify from 'safe-stable-stringify';
import type { RequestRecord } from '../../proxy/types.js';
import { judge, type JudgeConfig, type Verdict } from '../analysis/judge.js';
import type { AnalysedArm, ContainerHealth } from '../analysis/snapshot.js';
import { createStepAggregator, EMPTY_FINGERPRINTS, type AggregatorConfig, type FingerprintTally, type LogLine } from './step-aggregator.js';

/** The controller judges once per second of step time. */
export const DECISION_INTERVAL_NS = 1_000_000_000n;

export type ReplayConfig = JudgeConfig & AggregatorConfig;

export interface HealthChange {
  arm: AnalysedArm;
  health: ContainerHealth;
  /** Monotonic ns (decimal string). */
  tMonoNs: string;
}

export interface ReplayOptions {
  /**
   * When each step's weights were applied (step number → monotonic ns), from `events.jsonl`.
   * A step without an entry starts at its first recorded request.
   */
  stepStartsNs?: Readonly<Record<number, string>>;
  /** Container health transitions (both arms start `running`). */
  health?: readonly HealthChange[];
  /** As in `createStepAggregator`; tests use a small cap. */
  latencyCapPerArm?: number;
}

type Input =
  | { kind: 'health'; t: bigint; change: HealthChange }
  | { kind: 'request'; t: bigint; record: RequestRecord }
  | { kind: 'log'; t: bigint; line: LogLine };

// At the same instant: health first (a crash explains the requests around it), then requests, then logs.
const KIND_ORDER: Readonly<Record<Input['kind'], number>> = { health: 0, request: 1, log: 2 };
const TERMINAL: ReadonlySet<Verdict['action']> = new Set(['rollback', 'inconclusive']);

/**
 * The verdicts of a recorded release, step by step.
 *
 * @param steps K, the number of steps the α budget is split over (normally `config.steps.length`).
 * @param seed the release seed (`seedFromString(releaseId)`).
 */
export function replayVerdicts(
  records: readonly RequestRecord[],
  logLines: readonly LogLine[],
  config: ReplayConfig,
  steps: number,
  seed: number,
  options: ReplayOptions = {},
): Verdict[] {
  const starts = stepStarts(records, options.stepStartsNs ?? {});
  const verdicts: Verdict[] = [];
  let previousBaseline: Float64Array | null = null;
  let fingerprints: FingerprintTally = EMPTY_FINGERPRINTS;
  // Health changes before the first step (while the containers start) set the health it begins with.
  let health: Record<AnalysedArm, ContainerHealth> = { canary: 'running', baseline: 'running' };
  const firstStartNs = starts[0]?.[1];
  const byTime = [...(options.health ?? [])].sort((a, b) => (BigInt(a.tMonoNs) < BigInt(b.tMonoNs) ? -1 : BigInt(a.tMonoNs) > BigInt(b.tMonoNs) ? 1 : 0));
  for (const change of byTime) {
    if (firstStartNs !== undefined && BigInt(change.tMonoNs) < firstStartNs) health = { ...health, [change.arm]: change.health };
  }

  for (const [index, [step, startNs]] of starts.entries()) {
    const nextStartNs = starts[index + 1]?.[1];
    const inputs = stepInputs(step, startNs, nextStartNs, records, logLines, options.health ?? []);
    const aggregator = createStepAggregator({
      step,
      stepStartNs: startNs.toString(),
      config,
      seed,
      previousBaselineLatenciesMs: previousBaseline,
      previousFingerprints: fingerprints,
      health,
      ...(options.latencyCapPerArm === undefined ? {} : { latencyCapPerArm: options.latencyCapPerArm }),
    });

    let decision = startNs + DECISION_INTERVAL_NS;
    // `decided`: the step's first decisive verdict; `last`: the latest one; `changed`: input since then.
    const state: { decided: Verdict | null; last: Verdict | null; changed: boolean; terminal: boolean } = {
      decided: null,
      last: null,
      changed: false,
      terminal: false,
    };
    const judgeAt = (at: bigint): void => {
      // After a gate only new input can change the verdict; skip the identical seconds in between.
      if (state.decided !== null && !state.changed) return;
      const verdict = judge(aggregator.snapshot(at.toString()), config, steps);
      state.changed = false;
      state.last = verdict;
      state.terminal = TERMINAL.has(verdict.action);
      if (state.decided === null ? verdict.action !== 'continue' : state.terminal) verdicts.push(verdict);
      if (state.decided === null && verdict.action !== 'continue') state.decided = verdict;
    };
    const finished = (): boolean => state.terminal || state.decided?.action === 'advance';

    for (const input of inputs) {
      while (input.t > decision && !finished()) {
        judgeAt(decision);
        decision += DECISION_INTERVAL_NS;
      }
      if (finished()) break;
      if (input.kind === 'request') aggregator.addRequest(input.record);
      else if (input.kind === 'log') aggregator.addLogLine(input.line);
      else {
        aggregator.setHealth(input.change.arm, input.change.health);
        health = { ...health, [input.change.arm]: input.change.health };
      }
      state.changed = true;
    }
    // The decision points left in the step: up to the next step's start, or the first one covering the last input.
    const endNs = nextStartNs ?? inputs.at(-1)?.t ?? startNs;
    const more = (): boolean => (nextStartNs === undefined ? decision - DECISION_INTERVAL_NS < endNs : decision <= endNs);
    while (!finished() && more()) {
      judgeAt(decision);
      decision += DECISION_INTERVAL_NS;
    }
    if (state.decided === null && state.last !== null) verdicts.push(state.last);
    if (state.terminal || state.decided === null) break;
    previousBaseline = aggregator.baselineLatenciesMs();
    fingerprints = aggregator.fingerprints();
  }
  return verdicts;
}

/** `verdict.json`: keys sorted at every level, two-space indent, trailing newline. */
export function renderVerdictJson(verdicts: readonly Verdict[]): string {
  return `${stringify(verdicts, null, 2) ?? 'null'}\n`;
}

/** Steps in order with their start times: given ones, else the first recorded request of the step. */
function stepStarts(records: readonly RequestRecord[], given: Readonly<Record<number, string>>): [number, bigint][] {
  const starts = new Map<number, bigint>();
  for (const [step, t] of Object.entries(given)) starts.set(Number(step), BigInt(t));
  const first = new Map<number, bigint>();
  for (const record of records) {
    const t = BigInt(record.tMonoNs);
    const seen = first.get(record.step);
    if (seen === undefined || t < seen) first.set(record.step, t);
  }
  for (const [step, t] of first) if (!starts.has(step)) starts.set(step, t);
  return [...starts].sort((a, b) => a[0] - b[0]);
}

/** The step's requests (by step number) and the log lines and health changes inside its time span, in time order. */
function stepInputs(
  step: number,
  startNs: bigint,
  nextStartNs: bigint | undefined,
  records: readonly RequestRecord[],
  logLines: readonly LogLine[],
  health: readonly HealthChange[],
): Input[] {
  const within = (t: bigint): boolean => t >= startNs && (nextStartNs === undefined || t < nextStartNs);
  const inputs: (Input & { order: number })[] = [];
  for (const record of records) {
    if (record.step === step) inputs.push({ kind: 'request', t: BigInt(record.tMonoNs), record, order: record.seq });
  }
  logLines.forEach((line, order) => {
    const t = BigInt(line.tMonoNs);
    if (within(t)) inputs.push({ kind: 'log', t, line, order });
  });
  health.forEach((change, order) => {
    const t = BigInt(change.tMonoNs);
    if (within(t)) inputs.push({ kind: 'health', t, change, order });
  });
  return inputs.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.order - b.order));
}
