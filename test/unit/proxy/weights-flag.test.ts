/** `envctl proxy weights --set canary=10,baseline=10,prod=80`: what is accepted, and what each refusal says. */
import { describe, expect, it } from 'vitest';
import { parseWeightsFlag } from '../../../src/commands/proxy/weights.js';
import { UsageError } from '../../../src/errors.js';
import { formatWeights, parseWeights } from '../../../src/proxy/routing.js';

describe('parseWeights', () => {
  it.each([
    ['canary=10,baseline=10,prod=80', { canary: 10, baseline: 10, prod: 80 }],
    ['prod=80,canary=10,baseline=10', { canary: 10, baseline: 10, prod: 80 }],
    [' canary = 25 , baseline=25, prod=50 ', { canary: 25, baseline: 25, prod: 50 }],
    ['Canary=0,BASELINE=0,prod=100', { canary: 0, baseline: 0, prod: 100 }],
    ['canary=100,baseline=0,prod=0', { canary: 100, baseline: 0, prod: 0 }],
    ['canary=007,baseline=3,prod=90', { canary: 7, baseline: 3, prod: 90 }],
  ])('accepts %j', (text, expected) => {
    expect(parseWeights(text)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['canary=10,baseline=10', /prod missing/],
    ['canary=100', /baseline and prod missing/],
    ['canary=10,baseline=10,prod=70', /must sum to 100, got 90/],
    ['canary=10,baseline=10,prod=80,canary=10', /canary given twice/],
    ['canary=10,baseline=10,stable=80', /unknown arm "stable"/],
    ['canary=10.5,baseline=9.5,prod=80', /canary must be an integer percentage from 0 to 100, got "10.5"/],
    ['canary=-10,baseline=30,prod=80', /canary must be an integer percentage/],
    ['canary=1e1,baseline=10,prod=80', /canary must be an integer percentage/],
    ['canary=,baseline=10,prod=90', /canary must be an integer percentage .* got ""/],
    ['canary=200,baseline=0,prod=0', /canary must be an integer percentage from 0 to 100/],
    ['canary=10 baseline=10 prod=80', /is not arm=percent/],
    ['canary:10,baseline:10,prod:80', /is not arm=percent/],
    ['canary=10,,prod=80', /"" is not arm=percent/],
  ])('refuses %j, naming the problem', (text, reason) => {
    expect(() => parseWeights(text)).toThrow(RangeError);
    expect(() => parseWeights(text)).toThrow(reason);
  });

  it('reads what formatWeights writes, with commas', () => {
    const weights = { canary: 25, baseline: 25, prod: 50 };
    expect(parseWeights(formatWeights(weights).replaceAll(' ', ','))).toEqual(weights);
  });
});

describe('the --set flag', () => {
  it('turns a refusal into a UsageError (exit 2) with an example in the hint', () => {
    let error: unknown;
    try {
      parseWeightsFlag('canary=10,baseline=10,prod=70');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'BAD_WEIGHTS', exitCode: 2, message: '--set: invalid weights canary=10 baseline=10 prod=70: must sum to 100, got 90' });
    expect((error as UsageError).hint).toMatch(/--set canary=10,baseline=10,prod=80/);
  });
});
