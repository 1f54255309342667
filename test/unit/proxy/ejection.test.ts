/**
 * The passive health ejection state machine (proxy/routing.ts `createArmHealth`), on a fake clock:
 * consecutive connect failures, the ejection window, the half-open probe, re-admission, backoff,
 * and where the requests of an ejected arm go.
 */
import { describe, expect, it } from 'vitest';
import { createArmHealth, DEFAULT_EJECTION, type ArmHealth, type EjectionOptions, type HealthChoice } from '../../../src/proxy/routing.js';
import type { Arm, Weights } from '../../../src/proxy/types.js';

const MS = 1_000_000n;
const STEP_25: Weights = { canary: 25, baseline: 25, prod: 50 };
const STEP_50: Weights = { canary: 50, baseline: 50, prod: 0 };

/** A health machine on a clock the test moves by hand (ns, starting at 1 s). */
function harness(options: Partial<EjectionOptions> = {}) {
  let now = 1_000n * MS;
  const health = createArmHealth(options, () => now);
  return {
    health,
    advance(ms: number): void {
      now += BigInt(ms) * MS;
    },
    now: () => now,
    failTimes(arm: Arm, times: number): void {
      for (let index = 0; index < times; index += 1) health.connectFailed(arm);
    },
  };
}

const choose = (health: ArmHealth, assigned: Arm, weights: Weights = STEP_25): Pick<HealthChoice, 'arm' | 'rerouted' | 'probe'> => {
  const { arm, rerouted, probe } = health.choose(assigned, weights);
  return { arm, rerouted, probe };
};
const stay = (arm: Arm) => ({ arm, rerouted: false, probe: false });
const moved = (arm: Arm) => ({ arm, rerouted: true, probe: false });
const probe = (arm: Arm) => ({ arm, rerouted: false, probe: true });

describe('ejection after consecutive connect failures', () => {
  it('defaults to 3 failures, 5 s, doubling up to 30 s', () => {
    expect(DEFAULT_EJECTION).toEqual({ consecutiveFailures: 3, ejectionMs: 5000, maxEjectionMs: 30_000 });
  });

  it('ejects at the third failure in a row, not before', () => {
    const { health, failTimes, now } = harness();
    failTimes('canary', 2);
    expect(health.isEjected('canary')).toBe(false);
    expect(choose(health, 'canary')).toEqual(stay('canary'));
    health.connectFailed('canary');
    expect(health.isEjected('canary')).toBe(true);
    expect(health.snapshot()).toEqual({
      canary: { untilNs: (now() + 5000n * MS).toString(), windowMs: 5000, failures: 3, probing: false },
      baseline: null,
      prod: null,
    });
  });

  it('starts counting again after a connection', () => {
    const { health, failTimes } = harness();
    failTimes('canary', 2);
    health.connected('canary');
    failTimes('canary', 2);
    expect(health.isEjected('canary')).toBe(false);
    health.connectFailed('canary');
    expect(health.isEjected('canary')).toBe(true);
  });

  it('counts per arm', () => {
    const { health } = harness();
    for (const arm of ['canary', 'baseline', 'canary', 'baseline'] as const) health.connectFailed(arm);
    expect([health.isEjected('canary'), health.isEjected('baseline'), health.isEjected('prod')]).toEqual([false, false, false]);
  });

  it('honours a custom threshold', () => {
    const { health } = harness({ consecutiveFailures: 1 });
    health.connectFailed('baseline');
    expect(health.isEjected('baseline')).toBe(true);
  });

  it.each([
    [{ consecutiveFailures: 0 }, /consecutiveFailures/],
    [{ consecutiveFailures: 1.5 }, /consecutiveFailures/],
    [{ ejectionMs: 0 }, /ejectionMs/],
    [{ ejectionMs: 10_000, maxEjectionMs: 5_000 }, /maxEjectionMs/],
  ])('refuses options %o', (options, message) => {
    expect(() => createArmHealth(options, () => 0n)).toThrow(message);
  });
});

describe('the requests of an ejected arm', () => {
  it.each([
    { name: 'canary → prod first (the warm current version)', ejected: ['canary'], weights: STEP_25, assigned: 'canary', expected: moved('prod') },
    { name: 'baseline → prod', ejected: ['baseline'], weights: STEP_25, assigned: 'baseline', expected: moved('prod') },
    { name: 'canary → prod even at weight 0 (prod is production)', ejected: ['canary'], weights: STEP_50, assigned: 'canary', expected: moved('prod') },
    { name: 'canary → baseline when prod is ejected too', ejected: ['canary', 'prod'], weights: STEP_25, assigned: 'canary', expected: moved('baseline') },
    { name: 'prod → baseline', ejected: ['prod'], weights: STEP_25, assigned: 'prod', expected: moved('baseline') },
    { name: 'prod → canary when baseline is ejected too', ejected: ['prod', 'baseline'], weights: STEP_25, assigned: 'prod', expected: moved('canary') },
    {
      name: 'never to an arm at weight 0 other than prod: canary stays when prod is ejected and baseline has 0',
      ejected: ['canary', 'prod'],
      weights: { canary: 10, baseline: 0, prod: 90 },
      assigned: 'canary',
      expected: stay('canary'),
    },
    { name: 'all ejected: as the weights say', ejected: ['canary', 'baseline', 'prod'], weights: STEP_25, assigned: 'baseline', expected: stay('baseline') },
    { name: 'an admitted arm keeps its requests', ejected: ['canary'], weights: STEP_25, assigned: 'baseline', expected: stay('baseline') },
  ] as const)('$name', ({ ejected, weights, assigned, expected }) => {
    const { health, failTimes } = harness();
    for (const arm of ejected) failTimes(arm, 3);
    expect(choose(health, assigned, weights)).toEqual(expected);
  });
});

describe('the ejection window and the half-open probe', () => {
  it('moves requests until the window ends, then sends exactly one probe', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    advance(4999);
    expect(choose(health, 'canary')).toEqual(moved('prod'));
    advance(1);
    expect(choose(health, 'canary')).toEqual(probe('canary'));
    expect(health.snapshot().canary?.probing).toBe(true);
    // While the probe is in flight, the arm's other requests are still moved.
    expect(choose(health, 'canary')).toEqual(moved('prod'));
  });

  it('re-admits the arm when the probe connects', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    advance(5000);
    const probing = health.choose('canary', STEP_25);
    health.connected('canary');
    health.settled(probing);
    expect(health.snapshot().canary).toBeNull();
    expect(choose(health, 'canary')).toEqual(stay('canary'));
    // Counting starts from zero, and the next ejection has the base window again.
    failTimes('canary', 2);
    expect(health.isEjected('canary')).toBe(false);
    health.connectFailed('canary');
    expect(health.snapshot().canary?.windowMs).toBe(5000);
  });

  it('ejects again, for twice as long, when the probe fails; never beyond the maximum', () => {
    const { health, failTimes, advance, now } = harness();
    failTimes('canary', 3);
    const windows: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      advance(health.snapshot().canary!.windowMs);
      const probing = health.choose('canary', STEP_25);
      expect(probing.probe).toBe(true);
      health.connectFailed('canary');
      health.settled(probing);
      windows.push(health.snapshot().canary!.windowMs);
    }
    expect(windows).toEqual([10_000, 20_000, 30_000, 30_000, 30_000]);
    expect(health.snapshot().canary).toEqual({ untilNs: (now() + 30_000n * MS).toString(), windowMs: 30_000, failures: 8, probing: false });
    expect(choose(health, 'canary')).toEqual(moved('prod'));
  });

  it('counts a failure within the window without extending it', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    const until = health.snapshot().canary!.untilNs;
    advance(1000);
    // A request pinned to the canary by X-Envctl-Target still goes there, and fails.
    health.connectFailed('canary');
    expect(health.snapshot().canary).toMatchObject({ untilNs: until, windowMs: 5000, failures: 4 });
  });

  it('re-admits early on any connection, a pinned request’s included', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    advance(1000);
    health.connected('canary');
    expect(health.snapshot().canary).toBeNull();
    expect(choose(health, 'canary')).toEqual(stay('canary'));
  });

  it('frees the probe slot when the probe ends without a verdict', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    advance(5000);
    const first = health.choose('canary', STEP_25);
    expect(first.probe).toBe(true);
    // The client left (or the deadline came) before the connection: no verdict.
    health.settled(first);
    expect(health.snapshot().canary).toMatchObject({ probing: false, failures: 3 });
    expect(choose(health, 'canary')).toEqual(probe('canary'));
  });

  it('does not let an old probe free a newer probe’s slot', () => {
    const { health, failTimes, advance } = harness();
    failTimes('canary', 3);
    advance(5000);
    const old = health.choose('canary', STEP_25);
    // Another request (pinned) fails after the window: ejected again; then a new probe goes out.
    health.connectFailed('canary');
    advance(10_000);
    const newer = health.choose('canary', STEP_25);
    expect(newer.probe).toBe(true);
    health.settled(old);
    expect(health.snapshot().canary?.probing).toBe(true);
    expect(choose(health, 'canary')).toEqual(moved('prod'));
  });

  it('probes with the weights’ own request even when every other arm is ejected', () => {
    const { health, failTimes, advance } = harness();
    for (const arm of ['canary', 'baseline', 'prod'] as const) failTimes(arm, 3);
    advance(5000);
    expect(choose(health, 'canary')).toEqual(probe('canary'));
    // All ejected and the canary's probe in flight: the weights decide.
    expect(choose(health, 'canary')).toEqual(stay('canary'));
    expect(choose(health, 'prod')).toEqual(probe('prod'));
  });

  it('is deterministic: the same events on the same clock give the same states', () => {
    const run = () => {
      const { health, failTimes, advance } = harness();
      const seen: unknown[] = [];
      failTimes('baseline', 3);
      for (let index = 0; index < 20; index += 1) {
        advance(1700);
        const choice = health.choose(index % 2 === 0 ? 'baseline' : 'canary', STEP_25);
        if (choice.probe && index < 10) health.connectFailed(choice.arm);
        else if (choice.probe) health.connected(choice.arm);
        health.settled(choice);
        seen.push([choice.arm, choice.rerouted, choice.probe, health.snapshot()]);
      }
      return seen;
    };
    expect(run()).toEqual(run());
  });
});
