/**
 * canary.md §3.7: 10 000 seeded A/A releases (canary identical to the baseline, K = 3 steps) driven
 * by the pure judge every virtual second. The release-wide false-rollback budget is α = 0.01, so the
 * observed rate must stay within α + 3σ of a binomial with p = α.
 */
import { describe, expect, it } from 'vitest';
import { releaseConfig } from './judge-support.js';
import { HEALTHY, report, simulateRelease, type ArmBehaviour } from './simulate-support.js';

const RELEASES = Number(process.env.ENVCTL_SIM_RELEASES ?? 10_000);

describe('A/A releases', () => {
  it('give the same verdicts whether the judge runs every second or only at the moments that can decide', { timeout: 15_000 }, () => {
    // The fast mode below relies on this (see simulate-support.ts); 5% errors exercise the guardrails.
    const config = releaseConfig();
    const arm: ArmBehaviour = { ...HEALTHY, errorRate: 0.05, logErrorRate: 0.03 };
    for (let seed = 1; seed <= 200; seed++) {
      const scenario = { canary: arm, baseline: arm, rps: 50 };
      const slow = simulateRelease(seed, scenario, config, true);
      const fast = simulateRelease(seed, scenario, config, false);
      expect([fast.action, fast.step]).toEqual([slow.action, slow.step]);
    }
  });

  it(`roll back at most α + 3σ of ${RELEASES} releases and never end inconclusive`, { timeout: 120_000 }, () => {
    const config = releaseConfig();
    // Base error rates 0.1% / 1% / 5% in turn (canary.md §3.3a's table), identical on both arms.
    const rates = [0.001, 0.01, 0.05];
    const outcomes = { promoted: 0, rollback: 0, inconclusive: 0, gate: 0 };
    const rollbackCauses = new Map<string, number>();
    const started = performance.now();
    for (let seed = 1; seed <= RELEASES; seed++) {
      const arm: ArmBehaviour = { ...HEALTHY, errorRate: rates[seed % rates.length]! };
      const outcome = simulateRelease(seed, { canary: arm, baseline: arm, rps: 50 }, config);
      outcomes[outcome.action]++;
      if (outcome.action === 'rollback') {
        for (const reason of outcome.reasons) {
          const cause = reason.code === 'count-regression' ? `sprt:${reason.metric}` : reason.code;
          rollbackCauses.set(cause, (rollbackCauses.get(cause) ?? 0) + 1);
        }
      }
    }
    const alpha = config.alpha;
    const rate = outcomes.rollback / RELEASES;
    const bound = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / RELEASES);
    report(
      `A/A: ${RELEASES} releases in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
        `${JSON.stringify(outcomes)}, false-rollback rate ${(rate * 100).toFixed(2)}% (bound ${(bound * 100).toFixed(2)}%), ` +
        `causes ${JSON.stringify(Object.fromEntries(rollbackCauses))}`,
    );
    expect(rate).toBeLessThanOrEqual(bound);
    expect(outcomes.inconclusive).toBe(0);
    expect(outcomes.gate).toBe(0);
  });
});
