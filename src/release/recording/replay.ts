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
import type { Verdict } from '../analysis/judge.js';
import type { AnalysedArm, ContainerHealth } from '../analysis/snapshot.js';
import { EMPTY_FINGERPRINTS, type LogLine } from './step-aggregator.js';
import { compareInputs, createStepJudge, DECISION_INTERVAL_NS, requestInputTime, type HealthChange, type JudgeInput, type ReplayConfig, type StepCarry } from './step-judge.js';

export { DECISION_INTERVAL_NS, type HealthChange, type ReplayConfig } from './step-judge.js';

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
  /**
   * When the release ended (promotion, rollback or abort applied in the proxy), monotonic ns: the
   * last step is judged up to it, as the controller did. Without it (a release still running or
   * killed), the last step is judged until its last input.
   */
  endNs?: string;
}

/** Health before the first step (while the containers start) is the health the first step begins with. */
export function initialCarry(health: readonly HealthChange[], firstStartNs: bigint | undefined): StepCarry {
  let state: Record<AnalysedArm, ContainerHealth> = { canary: 'running', baseline: 'running' };
  const byTime = [...health].sort((a, b) => (BigInt(a.tMonoNs) < BigInt(b.tMonoNs) ? -1 : BigInt(a.tMonoNs) > BigInt(b.tMonoNs) ? 1 : 0));
  for (const change of byTime) {
    if (firstStartNs !== undefined && BigInt(change.tMonoNs) < firstStartNs) state = { ...state, [change.arm]: change.health };
  }
  return { previousBaselineLatenciesMs: null, fingerprints: EMPTY_FINGERPRINTS, health: state };
}

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
  const starts = stepStarts(records, options.stepStartsNs ?? {}).filter(([step]) => step >= 1 && step <= config.steps.length);
  const endNs = options.endNs === undefined ? undefined : BigInt(options.endNs);
  const verdicts: Verdict[] = [];
  let carry = initialCarry(options.health ?? [], starts[0]?.[1]);

  for (const [index, [step, startNs]] of starts.entries()) {
    const nextStartNs = starts[index + 1]?.[1] ?? endNs;
    const inputs = stepInputs(step, startNs, nextStartNs, records, logLines, options.health ?? []);
    const judge = createStepJudge({
      step,
      startNs,
      config,
      steps,
      seed,
      carry,
      ...(options.latencyCapPerArm === undefined ? {} : { latencyCapPerArm: options.latencyCapPerArm }),
    });
    for (const input of inputs) {
      while (input.t > judge.nextDecisionNs && !judge.finished()) judge.judgeNext();
      if (judge.finished()) break;
      judge.add(input);
    }
    // The decision points left in the step: up to the next step's start, or the first one covering the last input.
    const stepEndNs = nextStartNs ?? inputs.at(-1)?.t ?? startNs;
    const more = (): boolean => (nextStartNs === undefined ? judge.nextDecisionNs - DECISION_INTERVAL_NS < stepEndNs : judge.nextDecisionNs <= stepEndNs);
    while (!judge.finished() && more()) judge.judgeNext();
    judge.finish();
    verdicts.push(...judge.kept);
    if (judge.terminal() || judge.decided === null) break;
    carry = judge.carry();
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
): JudgeInput[] {
  const within = (t: bigint): boolean => t >= startNs && (nextStartNs === undefined || t < nextStartNs);
  const inputs: JudgeInput[] = [];
  for (const record of records) {
    if (record.step === step) inputs.push({ kind: 'request', t: requestInputTime(record), record, order: record.seq });
  }
  logLines.forEach((line, order) => {
    const t = BigInt(line.tMonoNs);
    if (within(t)) inputs.push({ kind: 'log', t, line, order });
  });
  health.forEach((change, order) => {
    const t = BigInt(change.tMonoNs);
    if (within(t)) inputs.push({ kind: 'health', t, change, order });
  });
  return inputs.sort(compareInputs);
}
