import { it } from 'vitest';
import { hodgesLehmann, mannWhitneyGreater } from '../../../src/release/analysis/stats.js';
import { XorShift128 } from './judge-support.js';
it('bench', () => {
  const rng = new XorShift128(1);
  const x = Array.from({ length: 400 }, () => rng.lognormal(50, 0.5));
  const y = Array.from({ length: 400 }, () => rng.lognormal(50, 0.5));
  const time = (name: string, n: number, f: () => void) => { const t = performance.now(); for (let i = 0; i < n; i++) f(); console.log(name, ((performance.now() - t) / n * 1000).toFixed(1), 'us'); };
  time('hl', 2000, () => hodgesLehmann(x, y)); console.log('iters', (globalThis as any).__it / 2000);
  const a = Array.from({ length: 100 }, (_, i) => 2 * i + 1);
  const b = Array.from({ length: 100 }, (_, i) => 2 * i + 0.5);
  time('mw exact 100x100', 5, () => mannWhitneyGreater(a, b));
  time('mw exact 1x10000', 5, () => mannWhitneyGreater([5000.5], Array.from({length:10000},(_, i)=>i)));
});
