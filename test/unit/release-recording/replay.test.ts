import { describe, expect, it } from 'vitest';
import type { Arm, RequestRecord } from '../../../src/proxy/types.js';
import { renderVerdictJson, replayVerdicts } from '../../../src/release/recording/replay.js';
import type { LogLine } from '../../../src/release/recording/step-aggregator.js';
import { releaseConfig, XorShift128 } from '../release/judge-support.js';

const S = 1_000_000_000n;
const START = 1_000n * S;
const STEP_SECONDS = 40;

const config = releaseConfig({ stepMinRequests: 100, stepMinDuration: '10s', warmup: { seconds: 2, requests: 10 }, slo: { latencyMs: 200 } });

interface Behaviour {
  errorRate: number;
  logErrorRate: number;
  medianMs: number;
}

const HEALTHY: Behaviour = { errorRate: 0.01, logErrorRate: 0.005, medianMs: 50 };

/**
 * A recorded 3-step release (10/25/50 %, 40 s per step, 100 rps): requests spread evenly within
 * each second, canary and baseline interleaved, plus some prod, override and log lines.
 */
function recordRelease(seed: number, canary: Behaviour) {
  const rng = new XorShift128(seed);
  const records: RequestRecord[] = [];
  const logLines: LogLine[] = [];
  const stepStartsNs: Record<number, string> = {};
  let seq = 0;
  config.steps.forEach((weight, index) => {
    const step = index + 1;
    const stepStart = START + BigInt(index * STEP_SECONDS) * S;
    stepStartsNs[step] = stepStart.toString();
    const perArm = weight; // 100 rps × w % per analysed arm
    for (let second = 0; second < STEP_SECONDS; second++) {
      for (let i = 0; i < perArm; i++) {
        const t = stepStart + BigInt(second) * S + (BigInt(i) * S) / BigInt(perArm) + 1n;
        for (const arm of ['canary', 'baseline', 'prod'] as Arm[]) {
          const behaviour = arm === 'canary' ? canary : HEALTHY;
          const bad = rng.uniform() < behaviour.errorRate;
          const totalUs = Math.round(rng.lognormal(behaviour.medianMs, 0.3) * 1000);
          records.push({
            seq: seq++,
            tMonoNs: t.toString(),
            step,
            arm,
            routeKey: 'GET /',
            method: 'GET',
            status: bad ? 503 : 200,
            upstreamError: 'none',
            ttfbUs: Math.round(totalUs / 2),
            totalUs,
            bytesOut: 512,
            override: i === 0 && second % 10 === 0,
            mirrored: false,
          });
          if (rng.uniform() < behaviour.logErrorRate) logLines.push({ arm, line: `ERROR request ${seq} failed`, tMonoNs: t.toString() });
        }
      }
    }
  });
  return { records, logLines, stepStartsNs };
}

describe('replayVerdicts', () => {
  it('is deterministic: the same recording gives byte-identical verdict JSON', () => {
    const { records, logLines, stepStartsNs } = recordRelease(11, HEALTHY);
    const first = renderVerdictJson(replayVerdicts(records, logLines, config, config.steps.length, 99, { stepStartsNs }));
    const second = renderVerdictJson(replayVerdicts([...records], [...logLines], config, config.steps.length, 99, { stepStartsNs }));
    expect(second).toBe(first);
  });

  it('advances a healthy canary through every step, judging on whole seconds', () => {
    const { records, logLines, stepStartsNs } = recordRelease(11, HEALTHY);
    const verdicts = replayVerdicts(records, logLines, config, config.steps.length, 99, { stepStartsNs });
    expect(verdicts.map((v) => [v.stats.step, v.action])).toEqual([
      [1, 'advance'],
      [2, 'advance'],
      [3, 'advance'],
    ]);
    for (const verdict of verdicts) {
      expect(verdict.stats.elapsedMs % 1000).toBe(0);
      expect(verdict.stats.elapsedMs).toBeGreaterThanOrEqual(10_000);
    }
  });

  it('rolls back a canary that fails every request, with the reason', () => {
    const { records, logLines, stepStartsNs } = recordRelease(12, { ...HEALTHY, errorRate: 1 });
    const verdicts = replayVerdicts(records, logLines, config, config.steps.length, 99, { stepStartsNs });
    expect(verdicts).toHaveLength(1);
    const [verdict] = verdicts;
    expect(verdict!.action).toBe('rollback');
    expect(verdict!.stats.step).toBe(1);
    expect(verdict!.reasons.map((r) => r.code)).toContain('consecutive-bad');
    // Five bad canary responses arrive within the first second (10 per second per arm at 10 %).
    expect(verdict!.stats.elapsedMs).toBe(1_000);
    expect(renderVerdictJson(verdicts)).toContain('"code": "consecutive-bad"');
  });

  it('rolls back when the canary exits, from the recorded health changes', () => {
    const { records, logLines, stepStartsNs } = recordRelease(13, HEALTHY);
    const exitAt = (START + 5n * S + 1n).toString();
    const verdicts = replayVerdicts(records, logLines, config, config.steps.length, 99, {
      stepStartsNs,
      health: [{ arm: 'canary', health: 'exited', tMonoNs: exitAt }],
    });
    expect(verdicts.map((v) => [v.stats.step, v.action, v.stats.elapsedMs])).toEqual([[1, 'rollback', 6_000]]);
    expect(verdicts[0]!.reasons[0]!.code).toBe('canary-down');
  });

  it('returns the last verdict of a recording cut off mid-step', () => {
    const { records, stepStartsNs } = recordRelease(14, HEALTHY);
    const cut = records.filter((r) => BigInt(r.tMonoNs) < START + 5n * S);
    const verdicts = replayVerdicts(cut, [], config, config.steps.length, 99, { stepStartsNs: { 1: stepStartsNs[1]! } });
    expect(verdicts.map((v) => [v.action, v.stats.elapsedMs])).toEqual([['continue', 5_000]]);
  });

  it('starts a step at its first request when no start is given', () => {
    const { records, logLines } = recordRelease(11, HEALTHY);
    const verdicts = replayVerdicts(records, logLines, config, config.steps.length, 99);
    expect(verdicts.map((v) => v.action)).toEqual(['advance', 'advance', 'advance']);
  });
});
