/**
 * The judge's only source of randomness: a seeded xoshiro128** generator (Blackman & Vigna), 32-bit
 * integer arithmetic only, so the same seed gives the same stream on every platform. Used to draw
 * the Hodges-Lehmann reservoirs (canary.md §3.3f); never to add noise to a decision.
 */

export interface Rng {
  /** Next value, uniform on [0, 2³²). */
  nextUint32(): number;
}

/** A generator whose whole state follows from `seed` (any number; only its low 32 bits are used). */
export function createRng(seed: number): Rng {
  // splitmix32 spreads the seed over the four state words (xoshiro must not start all-zero).
  let mix = seed >>> 0;
  const next = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = next();
  let s1 = next();
  let s2 = next();
  let s3 = next();
  return {
    nextUint32(): number {
      const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      return result;
    },
  };
}

/** Uniform integer in [0, bound) for bound ≤ 2³² (multiply-shift; the bias is below 2⁻³² · bound). */
export function nextBelow(rng: Rng, bound: number): number {
  return Math.floor((rng.nextUint32() / 4_294_967_296) * bound);
}

/** A 32-bit seed from a string such as the release id (FNV-1a), so a replay draws the same reservoirs. */
export function seedFromString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
