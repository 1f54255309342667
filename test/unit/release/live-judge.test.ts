/**
 * The live judge (what the controller runs) against the replay (`release judge --replay`): fed the
 * same recording, in the live order (requests finish out of order and are judged at their finish,
 * polls at irregular times, a
 * gate approved later, the release ended by promotion or abort), they keep byte-identical verdicts.
 */
import { describe, expect, it } from 'vitest';
import type { Arm, RequestRecord } from '../../../src/proxy/types.js';
import type { Verdict } from '../../../src/release/analysis/judge.js';
import { createLiveJudge } from '../../../src/release/live-judge.js';
import { initialCarry, renderVerdictJson, replayVerdicts } from '../../../src/release/recording/replay.js';
import { requestInputTime } from '../../../src/release/recording/step-judge.js';
import type { LogLine } from '../../../src/release/recording/step-aggregator.js';
import { releaseConfig, XorShift128 } from './judge-support.js';

const S = 1_000_000_000n;
const MS = 1_000_000n;

interface Scenario {
  seed: number;
  canaryErrorRate: number;
  canaryMedianMs: number;
  /** Abort (user) at this many seconds into the release instead of letting it finish. */
  abortAtS?: number;
  gates?: { beforeStep?: number[]; beforePromote?: 'auto' | 'manual' };
}

interface Run {
  live: Verdict[];
  replay: Verdict[];
  steps: number;
}

function runRelease(scenario: Scenario): Run {
  const config = releaseConfig({
    stepMinRequests: 60,
    stepMinDuration: '8s',
    stepMaxDuration: '60s',
    warmup: { seconds: 2, requests: 5 },
    gates: { beforeStep: scenario.gates?.beforeStep ?? [], beforePromote: scenario.gates?.beforePromote ?? 'auto' },
  });
  const K = config.steps.length;
  const rng = new XorShift128(scenario.seed);
  const seed = scenario.seed;
  const records: RequestRecord[] = [];
  const logLines: LogLine[] = [];
  const stepStartsNs: Record<number, string> = {};
  const live = createLiveJudge({ config, steps: K, seed, carry: initialCarry([], undefined) });

  // The proxy: 40 rps (25 ms apart), arms by the current weights, each finishing after its latency.
  let step = 0;
  let weights: Record<Arm, number> = { canary: 0, baseline: 0, prod: 100 };
  let nextArrival = 1_000n * S;
  let seq = 0;
  const inFlight: { arrival: bigint; finish: bigint; record: Omit<RequestRecord, 'seq'> }[] = [];
  const counters: Record<Arm, number> = { canary: 0, baseline: 0, prod: 0 };
  const pickArm = (): Arm => {
    for (const arm of ['canary', 'baseline', 'prod'] as Arm[]) counters[arm] += weights[arm];
    const arm = (['canary', 'baseline', 'prod'] as Arm[]).reduce((best, candidate) => (counters[candidate] > counters[best] ? candidate : best));
    counters[arm] -= 100;
    return arm;
  };
  let logOrder = 0;
  const runUntil = (now: bigint): void => {
    while (nextArrival <= now) {
      const arm = pickArm();
      const canary = arm === 'canary';
      const bad = rng.uniform() < (canary ? scenario.canaryErrorRate : 0.01);
      const ms = rng.lognormal(canary ? scenario.canaryMedianMs : 30, 0.4);
      const totalUs = Math.round(ms * 1000);
      inFlight.push({
        arrival: nextArrival,
        finish: nextArrival + BigInt(totalUs) * 1000n,
        record: { tMonoNs: nextArrival.toString(), step, arm, routeKey: 'GET /', method: 'GET', status: bad ? 500 : 200, upstreamError: 'none', ttfbUs: totalUs, totalUs, bytesOut: 10, override: false, mirrored: false },
      });
      if (bad && arm !== 'prod' && rng.uniform() < 0.5) {
        // Logged a little later, stamped when the controller reads it (after the last judged instant).
        const stamp = nextArrival + 300n * MS;
        const line: LogLine = { arm, line: `ERROR request failed after ${Math.round(ms)} ms`, tMonoNs: (stamp > live.lastJudgedNs ? stamp : live.lastJudgedNs + 1n).toString() };
        logLines.push(line);
        live.offer({ kind: 'log', t: BigInt(line.tMonoNs), order: logOrder++, line });
      }
      nextArrival += 25n * MS;
    }
    inFlight.sort((a, b) => (a.finish < b.finish ? -1 : a.finish > b.finish ? 1 : 0));
    while (inFlight.length > 0 && inFlight[0]!.finish <= now) {
      const done = inFlight.shift()!;
      const record = { seq: ++seq, ...done.record };
      records.push(record);
      live.offer({ kind: 'request', t: requestInputTime(record), order: record.seq, record });
    }
  };
  // Requests are judged at their finish, and recorded at it: at any moment, everything up to now is here.
  const watermark = (now: bigint): bigint => now;
  const apply = (next: Record<Arm, number>, nextStep: number, at: bigint): bigint => {
    runUntil(at);
    weights = next;
    step = nextStep;
    for (const arm of Object.keys(counters) as Arm[]) counters[arm] = 0;
    return at;
  };
  const stepWeights = (index: number): Record<Arm, number> => {
    const w = config.steps[index - 1]!;
    return { canary: w, baseline: w, prod: 100 - 2 * w };
  };

  let now = 1_000n * S;
  let startedAt = apply(stepWeights(1), 1, now + 10n * MS);
  stepStartsNs[1] = startedAt.toString();
  live.beginStep(1, startedAt);
  let endNs: bigint | undefined;
  let gateSince: bigint | undefined;
  for (let poll = 0; poll < 2000 && endNs === undefined; poll++) {
    now += BigInt(Math.round(300 + rng.uniform() * 2200)) * MS;
    runUntil(now);
    const horizon = watermark(now);
    live.advanceTo(horizon);
    const judge = live.current!;
    if (scenario.abortAtS !== undefined && now - 1_000n * S >= BigInt(scenario.abortAtS) * S) {
      endNs = apply({ canary: 0, baseline: 0, prod: 100 }, K + 1, now + 5n * MS);
      break;
    }
    if (judge.terminal()) break;
    if (judge.decided?.action === 'gate') {
      gateSince ??= now;
      if (now - gateSince < 5n * S) continue; // approved a few seconds later, judging meanwhile
    } else if (judge.decided?.action !== 'advance') continue;
    gateSince = undefined;
    const at = now + 7n * MS;
    if (judge.step === K) {
      endNs = apply({ canary: 100, baseline: 0, prod: 0 }, K + 1, at);
      break;
    }
    startedAt = apply(stepWeights(judge.step + 1), judge.step + 1, at);
    // Decisions up to the switch still belong to the old step (after a gate the judge ran on).
    runUntil(now + 20n * S);
    live.advanceTo(watermark(now + 20n * S), startedAt);
    if (live.current!.terminal()) break;
    stepStartsNs[judge.step + 1] = startedAt.toString();
    live.beginStep(judge.step + 1, startedAt);
  }
  if (endNs !== undefined) {
    runUntil(endNs + 20n * S);
    live.advanceTo(watermark(endNs + 20n * S), endNs);
  }
  live.finishStep();
  const replay = replayVerdicts(records, logLines, config, K, seed, { stepStartsNs, ...(endNs === undefined ? {} : { endNs: endNs.toString() }) });
  return { live: [...live.verdicts], replay, steps: K };
}

describe('live judge', () => {
  it.each([1, 2, 3, 4, 5])('a healthy release (seed %i): the same verdicts live and replayed, ending in promotion', (seed) => {
    const run = runRelease({ seed, canaryErrorRate: 0.01, canaryMedianMs: 30 });
    expect(run.live.at(-1)?.action).toBe('advance');
    expect(run.live.filter((verdict) => verdict.action === 'advance')).toHaveLength(run.steps);
    expect(renderVerdictJson(run.live)).toBe(renderVerdictJson(run.replay));
  });

  it.each([11, 12, 13])('a failing canary (seed %i) is rolled back, live and replayed alike', (seed) => {
    const run = runRelease({ seed, canaryErrorRate: 0.3, canaryMedianMs: 30 });
    expect(run.live.at(-1)?.action).toBe('rollback');
    expect(renderVerdictJson(run.live)).toBe(renderVerdictJson(run.replay));
  });

  it.each([21, 22])('a slower canary (seed %i): same verdicts', (seed) => {
    const run = runRelease({ seed, canaryErrorRate: 0.01, canaryMedianMs: 60 });
    expect(run.live.some((verdict) => verdict.action === 'rollback')).toBe(true);
    expect(renderVerdictJson(run.live)).toBe(renderVerdictJson(run.replay));
  });

  it('gates before a step and before promotion: the judge runs on while waiting, same verdicts', () => {
    const run = runRelease({ seed: 31, canaryErrorRate: 0.01, canaryMedianMs: 30, gates: { beforeStep: [25], beforePromote: 'manual' } });
    expect(run.live.filter((verdict) => verdict.action === 'gate')).toHaveLength(2);
    expect(renderVerdictJson(run.live)).toBe(renderVerdictJson(run.replay));
  });

  it('an abort mid-step keeps the step’s last verdict, live and replayed alike', () => {
    const run = runRelease({ seed: 41, canaryErrorRate: 0.01, canaryMedianMs: 30, abortAtS: 5 });
    expect(run.live.at(-1)?.action).toBe('continue');
    expect(renderVerdictJson(run.live)).toBe(renderVerdictJson(run.replay));
  });
});
