import { describe, expect, it } from 'vitest';
import { createRouter, DEFAULT_MAX_STRATA, hashClientKey, murmurHash3x86_32, stickyArm, validateWeights } from '../../../src/proxy/routing.js';
import { ARMS, type Arm, type RouteRequest, type Router, type Weights } from '../../../src/proxy/types.js';

/** xorshift32 (Marsaglia): a seeded PRNG so every "random" case here is the same on every run. */
function seededRandom(seed: number) {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    /** Uniform integer in [0, n). */
    int: (n: number): number => Math.floor((next() / 2 ** 32) * n),
    hex: (digits: number): string => Array.from({ length: digits }, () => (next() & 15).toString(16)).join(''),
  };
}

const weights = (canary: number, baseline: number, prod: number): Weights => ({ canary, baseline, prod });
const request = (routeKey: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({ routeKey, override: undefined, stickyKey: undefined, ...extra });
const serve = (router: Router, routeKey: string, n: number): Arm[] => Array.from({ length: n }, () => router.route(request(routeKey)).arm);
/** What a router that only ever saw this one stratum would answer. */
const solo = (w: Weights, n: number): Arm[] => serve(createRouter(w, { sticky: 'none' }), 'solo', n);

/** Every 3-arm split whose weights are multiples of `step`. */
function splits(step: number): Weights[] {
  const all: Weights[] = [];
  for (let canary = 0; canary <= 100; canary += step) {
    for (let baseline = 0; baseline <= 100 - canary; baseline += step) all.push(weights(canary, baseline, 100 - canary - baseline));
  }
  return all;
}

/**
 * Walks a stratum's decisions and returns the largest |served − n·w/100| over every prefix n and arm,
 * in hundredths of a request (integers, so exact). ⌊n·w/100⌋ or ⌈n·w/100⌉ ⟺ deviation < 100.
 */
function maxDeviation(arms: readonly Arm[], w: Weights): number {
  const served = { canary: 0, baseline: 0, prod: 0 };
  let worst = 0;
  for (let n = 1; n <= arms.length; n += 1) {
    served[arms[n - 1]!] += 1;
    worst = Math.max(worst, Math.abs(100 * served.canary - n * w.canary), Math.abs(100 * served.baseline - n * w.baseline), Math.abs(100 * served.prod - n * w.prod));
  }
  return worst;
}

describe('smooth weighted round-robin', () => {
  it.each([
    { w: weights(50, 50, 0), expected: ['canary', 'baseline', 'canary', 'baseline'] },
    { w: weights(0, 50, 50), expected: ['baseline', 'prod', 'baseline', 'prod'] },
    { w: weights(50, 0, 50), expected: ['canary', 'prod', 'canary', 'prod'] },
    // Ties at the first request: baseline and prod both 40 → baseline; then a full cycle of 5.
    { w: weights(20, 40, 40), expected: ['baseline', 'prod', 'canary', 'baseline', 'prod', 'baseline', 'prod'] },
    { w: weights(34, 33, 33), expected: ['canary', 'baseline', 'prod', 'canary'] },
    // Canary and baseline tie at the fourth request → canary.
    { w: weights(10, 10, 80), expected: ['prod', 'prod', 'prod', 'canary', 'prod', 'prod', 'baseline', 'prod', 'prod', 'prod'] },
    { w: weights(0, 0, 100), expected: ['prod', 'prod', 'prod'] },
    { w: weights(100, 0, 0), expected: ['canary', 'canary', 'canary'] },
  ] satisfies { w: Weights; expected: Arm[] }[])('$w: $expected', ({ w, expected }) => {
    expect(solo(w, expected.length)).toEqual(expected);
  });

  it('serves ⌊N·w/100⌋ or ⌈N·w/100⌉ over every prefix N ≤ 2000, for every split in steps of 5', () => {
    const all = splits(5);
    expect(all).toHaveLength(231);
    const worst = Math.max(...all.map((w) => maxDeviation(solo(w, 2000), w)));
    expect(worst).toBeLessThan(100);
    expect(worst).toBe(75); // measured: 0.75 of a request
  });

  it('does the same for every 1-step split (all 5 151), with the max deviation canary.md computed (0.82)', { timeout: 30_000 }, () => {
    const all = splits(1);
    expect(all).toHaveLength(5151);
    let worst = 0;
    for (const w of all) worst = Math.max(worst, maxDeviation(solo(w, 2000), w));
    expect(worst).toBe(82);
  });

  it('never schedules an arm whose weight is 0', () => {
    for (const w of splits(5).filter((split) => ARMS.some((arm) => split[arm] === 0))) {
      const served = new Set(solo(w, 400));
      for (const arm of ARMS) expect(served.has(arm), `${arm} at ${JSON.stringify(w)}`).toBe(w[arm] > 0);
    }
  });

  it('keeps strata independent: interleaved keys each get exactly their solo sequence', () => {
    const random = seededRandom(0x5eed);
    const keys = ['GET /', 'GET /api/items/:id', 'POST /api/items', 'GET /health', 'DELETE /api/items/:id', 'GET /static', 'PUT /x'];
    const candidates = splits(1);
    for (let round = 0; round < 20; round += 1) {
      const w = candidates[random.int(candidates.length)]!;
      const router = createRouter(w, { sticky: 'none' });
      const perKey = new Map<string, Arm[]>(keys.map((key) => [key, []]));
      for (let i = 0; i < keys.length * 1000; i += 1) {
        // Skewed on purpose: key k is picked with weight k + 1, so strata progress at different rates.
        let pick = random.int((keys.length * (keys.length + 1)) / 2);
        let index = 0;
        while (pick > index) pick -= ++index;
        const key = keys[index]!;
        perKey.get(key)!.push(router.route(request(key)).arm);
      }
      for (const arms of perKey.values()) {
        expect(arms).toEqual(solo(w, arms.length));
        expect(maxDeviation(arms, w)).toBeLessThan(100);
      }
    }
  });

  it('resets counters on a weight change: from there on each stratum behaves like a fresh router at the new weights', () => {
    const random = seededRandom(42);
    const candidates = splits(1);
    for (let round = 0; round < 50; round += 1) {
      const before = candidates[random.int(candidates.length)]!;
      const after = candidates[random.int(candidates.length)]!;
      const router = createRouter(before, { sticky: 'none' });
      serve(router, 'GET /a', 1 + random.int(500));
      serve(router, 'GET /b', 1 + random.int(500));
      router.setWeights(after);
      expect(router.weights()).toEqual(after);
      const a = serve(router, 'GET /a', 1000);
      const b = serve(router, 'GET /b', 1000);
      expect(a).toEqual(solo(after, 1000));
      expect(b).toEqual(a);
      expect(maxDeviation(a, after)).toBeLessThan(100);
    }
  });
});

describe('weights validation', () => {
  it.each([
    { w: weights(10, 10, 70), message: /must sum to 100, got 90/ },
    { w: weights(10, 10, 81), message: /must sum to 100, got 101/ },
    { w: weights(-10, 10, 100), message: /canary must be an integer percentage ≥ 0, got -10/ },
    { w: weights(10.5, 10, 79.5), message: /canary must be an integer percentage ≥ 0, got 10.5/ },
    { w: weights(10, Number.NaN, 90), message: /baseline must be .* got NaN/ },
    { w: weights(0, 0, Number.POSITIVE_INFINITY), message: /prod must be .* got Infinity/ },
    { w: { canary: '10', baseline: 10, prod: 80 } as unknown as Weights, message: /canary must be .* got 10/ },
    { w: { canary: 10, baseline: 10 } as unknown as Weights, message: /prod must be .* got undefined/ },
    { w: { canary: 10, baseline: 10, prod: 80, canry: 5 } as unknown as Weights, message: /unknown arm "canry"/ },
  ])('rejects $w', ({ w, message }) => {
    expect(() => validateWeights(w)).toThrow(RangeError);
    expect(() => validateWeights(w)).toThrow(message);
    expect(() => createRouter(w, { sticky: 'none' })).toThrow(RangeError);
  });

  it('leaves weights and counters untouched when setWeights is rejected', () => {
    const w = weights(25, 25, 50);
    const router = createRouter(w, { sticky: 'none' });
    const first = serve(router, 'k', 3);
    expect(() => router.setWeights(weights(30, 30, 30))).toThrow(RangeError);
    expect(router.weights()).toEqual(w);
    expect([...first, ...serve(router, 'k', 5)]).toEqual(solo(w, 8));
  });

  it('keeps its own copy of the weights', () => {
    const mutable = { canary: 10, baseline: 10, prod: 80 };
    const router = createRouter(mutable, { sticky: 'none' });
    mutable.canary = 50;
    expect(router.weights()).toEqual(weights(10, 10, 80));
    expect(Object.isFrozen(router.weights())).toBe(true);
  });

  it('rejects a bad strata cap', () => {
    expect(() => createRouter(weights(10, 10, 80), { sticky: 'none', maxStrata: -1 })).toThrow(RangeError);
    expect(() => createRouter(weights(10, 10, 80), { sticky: 'none', maxStrata: 1.5 })).toThrow(RangeError);
  });
});

describe('overrides', () => {
  it.each(['none', 'cookie'] as const)('win over weights and stickiness, marked as overrides (sticky: %s)', (sticky) => {
    // prod has weight 0 and is still reachable by override.
    const router = createRouter(weights(50, 50, 0), { sticky });
    for (const arm of ARMS) {
      expect(router.route(request('k', { override: arm, stickyKey: 'session-1' }))).toEqual({ arm, override: true });
    }
  });

  it('do not advance the stratum scheduler', () => {
    const w = weights(10, 10, 80);
    const router = createRouter(w, { sticky: 'none' });
    const random = seededRandom(7);
    const scheduled: Arm[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const decision = router.route(request('k', { override: random.int(3) === 0 ? ARMS[random.int(3)] : undefined }));
      if (!decision.override) scheduled.push(decision.arm);
    }
    expect(scheduled).toEqual(solo(w, scheduled.length));
  });

  it('are unmarked when absent', () => {
    expect(createRouter(weights(0, 0, 100), { sticky: 'none' }).route(request('k'))).toEqual({ arm: 'prod', override: false });
  });
});

describe('sticky buckets', () => {
  const KEY_COUNT = 10_000;
  const random = seededRandom(2024);
  const keySets = {
    sequential: Array.from({ length: KEY_COUNT }, (_, i) => `session-${i}`),
    random: Array.from({ length: KEY_COUNT }, () => random.hex(32)),
  };
  /** Canary w, the rest split between baseline and prod; and the release shape w / w / 100 − 2w. */
  const shapes = {
    even: (w: number) => weights(w, Math.floor((100 - w) / 2), 100 - w - Math.floor((100 - w) / 2)),
    release: (w: number) => weights(w, Math.min(w, 100 - w), 100 - w - Math.min(w, 100 - w)),
  };
  const steps = Array.from({ length: 21 }, (_, i) => i * 5);

  it.each(Object.keys(keySets).flatMap((keys) => Object.keys(shapes).map((shape) => ({ keys, shape }))))(
    'are monotone: a $keys key on canary at w stays there at every w′ > w ($shape weights)',
    { timeout: 15_000 },
    ({ keys, shape }) => {
      const shapeOf = shapes[shape as keyof typeof shapes];
      const routers = steps.map((w) => createRouter(shapeOf(w), { sticky: 'cookie' }));
      for (const key of keySets[keys as keyof typeof keySets]) {
        const onCanary = routers.map((router) => router.route(request('k', { stickyKey: key })).arm === 'canary');
        const first = onCanary.indexOf(true);
        // Upward closed: once on canary, on canary at every higher weight (and always at 100).
        expect(onCanary.slice(first).every(Boolean), key).toBe(true);
        expect(first).toBeGreaterThanOrEqual(0);
      }
    },
  );

  it.each(Object.keys(keySets))('give each arm its weight ±2 points over 10 000 %s keys, for canary w in steps of 5', { timeout: 15_000 }, (keys) => {
    let worst = 0;
    for (const w of steps.flatMap((step) => [shapes.even(step), shapes.release(step)])) {
      const served = { canary: 0, baseline: 0, prod: 0 };
      for (const key of keySets[keys as keyof typeof keySets]) served[stickyArm(key, w)] += 1;
      for (const arm of ARMS) worst = Math.max(worst, Math.abs(served[arm] / KEY_COUNT - w[arm] / 100));
    }
    expect(worst).toBeLessThanOrEqual(0.02);
  });

  it('keep a client on one arm while the weights stand, whatever the route', () => {
    const router = createRouter(weights(25, 25, 50), { sticky: 'cookie' });
    for (const key of keySets.random.slice(0, 200)) {
      const arms = new Set(['GET /', 'GET /a', 'POST /b'].map((routeKey) => router.route(request(routeKey, { stickyKey: key })).arm));
      expect(arms.size).toBe(1);
    }
  });

  it('fall back to the scheduler without a key (or with an empty one), and are off in sticky: none', () => {
    const w = weights(10, 10, 80);
    const sticky = createRouter(w, { sticky: 'cookie' });
    const unsticky = createRouter(w, { sticky: 'none' });
    const noKey = Array.from({ length: 200 }, (_, i) => sticky.route(request('k', { stickyKey: i % 2 === 0 ? undefined : '' })).arm);
    const ignored = Array.from({ length: 200 }, () => unsticky.route(request('k', { stickyKey: 'session-1' })).arm);
    expect(noKey).toEqual(solo(w, 200));
    expect(ignored).toEqual(solo(w, 200));
  });

  it('never give a weight-0 arm a client', () => {
    for (const key of keySets.random.slice(0, 2000)) expect(stickyArm(key, weights(50, 0, 50))).not.toBe('baseline');
    for (const key of keySets.random.slice(0, 2000)) expect(stickyArm(key, weights(0, 50, 50))).not.toBe('canary');
  });

  it('hash with MurmurHash3 x86 32-bit (reference vectors)', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(murmurHash3x86_32(bytes(''), 0)).toBe(0);
    expect(murmurHash3x86_32(bytes(''), 1)).toBe(0x514e28b7);
    expect(murmurHash3x86_32(bytes(''), 0xffffffff)).toBe(0x81f16f39);
    expect(murmurHash3x86_32(bytes('a'), 0x9747b28c)).toBe(0x7fa09ea6);
    expect(murmurHash3x86_32(bytes('ab'), 0x9747b28c)).toBe(0x74875592);
    expect(murmurHash3x86_32(bytes('abc'), 0x9747b28c)).toBe(0xc84a62dd);
    expect(murmurHash3x86_32(bytes('aaaa'), 0x9747b28c)).toBe(0x5a97808a);
    expect(murmurHash3x86_32(bytes('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(murmurHash3x86_32(bytes('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
    // Client keys are hashed as UTF-8 with seed 0; pinned so a refactor cannot silently move clients.
    expect(hashClientKey('session-1')).toBe(murmurHash3x86_32(bytes('session-1'), 0));
    expect(hashClientKey('é')).toBe(murmurHash3x86_32(new Uint8Array([0xc3, 0xa9]), 0));
  });
});

describe('strata cap', () => {
  it(`gives the first ${DEFAULT_MAX_STRATA} route keys a scheduler each and makes later keys share one`, () => {
    const w = weights(10, 10, 80);
    const router = createRouter(w, { sticky: 'cookie' });
    // A fresh stratum at 10/10/80 starts with prod, so every first request is prod.
    for (let i = 0; i < DEFAULT_MAX_STRATA; i += 1) expect(router.route(request(`GET /page-${i}`)).arm).toBe('prod');
    // 1 000 more random paths: one shared stratum, so together they get exactly 100 / 100 / 800.
    const random = seededRandom(99);
    const overflow = Array.from({ length: 1000 }, () => router.route(request(`GET /${random.hex(12)}`)).arm);
    expect(overflow).toEqual(solo(w, 1000));
    // Known keys keep their own scheduler: the second request of a stratum at 10/10/80 is prod again.
    expect(router.route(request('GET /page-0')).arm).toBe('prod');
  });

  it('starts over at a weight change', () => {
    const w = weights(10, 10, 80);
    const router = createRouter(w, { sticky: 'none', maxStrata: 2 });
    serve(router, 'a', 1);
    serve(router, 'b', 1);
    expect(['c', 'd', 'e', 'f', 'g'].map((key) => router.route(request(key)).arm)).toEqual(solo(w, 5));
    router.setWeights(w);
    expect(['c', 'd', 'e', 'f', 'g'].map((key) => router.route(request(key)).arm)).toEqual(['prod', 'prod', ...solo(w, 3)]);
  });

  it('with a cap of 0 routes everything through one scheduler', () => {
    const w = weights(30, 30, 40);
    const router = createRouter(w, { sticky: 'none', maxStrata: 0 });
    expect(Array.from({ length: 300 }, (_, i) => router.route(request(`k${i}`)).arm)).toEqual(solo(w, 300));
  });
});
