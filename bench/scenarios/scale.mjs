/**
 * scale: envctl alone (docker-compose is compared on topology-10) on generated topologies of 10, 50,
 * 200 and 1000 `envctl/base-debian:12` `sleep infinity` services (bench/lib/scale-topology.mjs), to
 * show how its time grows with the number of services:
 *
 * - `plan --offline` for 10, 50, 200 and 1000 services (no engine contacted; issue 9's target: 1000
 *   services under 1 s);
 * - `plan` against the engine, nothing existing, for 10, 50 and 200 services;
 * - cold `up` (nothing exists → every container running) and `down` for 10 and 50 services, and 200
 *   without --quick (about 35 s up + 15 s down per cycle on 2 cores: 2 reps, no warm-up of its own).
 *
 * Per rep the sizes run in turn (small to large), so load drift hits all alike.
 */
import { envctlDriver } from '../lib/drivers.mjs';
import { SampleBook, timeCommand } from '../lib/measure.mjs';
import { writeScaleTopology } from '../lib/scale-topology.mjs';

const PLAN_SIZES = [10, 50, 200];
const OFFLINE_SIZES = [10, 50, 200, 1000];
const UP_SIZES_QUICK = [10, 50];
const UP_SIZES_FULL = [10, 50, 200];
/** Reps for up/down of 200 services (without --quick): each cycle is ~50 s on 2 cores. */
const REPS_200 = 2;
/** With --quick, up/down reps (no warm-up: the plans warmed the CLI): a 50-service cycle is ~15 s. */
const UP_REPS_QUICK = 2;

export const scale = {
  name: 'scale',
  summary: 'envctl only: plan (with and without the engine) and up/down of generated topologies of 10-1000 services (envctl/base-debian:12, sleep infinity, init, no healthcheck; 10 roots, every other service depends on one of them)',

  async run(ctx) {
    const dir = await ctx.resources.tempDir('scale');
    const quick = ctx.reps <= 3;
    const upSizes = quick ? UP_SIZES_QUICK : UP_SIZES_FULL;
    const sizes = [...new Set([...PLAN_SIZES, ...OFFLINE_SIZES, ...upSizes])].sort((a, b) => a - b);
    const topologies = {};
    for (const count of sizes) {
      const project = `bench-${ctx.runId}-scale-${count}`;
      ctx.resources.trackEnvctlProject(project);
      topologies[count] = { project, file: await writeScaleTopology({ dir, project, count }) };
    }
    const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
    const plan = async (count, offline) => {
      const result = await timeCommand(process.execPath, [ctx.envctlBin, 'plan', '--json', ...(offline ? ['--offline'] : []), '-f', topologies[count].file], { env, signal: ctx.signal });
      const { summary } = JSON.parse(result.stdout);
      return { ...result, creates: summary.create };
    };

    const book = new SampleBook();
    const notes = [];
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      const warmup = rep === 0;
      ctx.progress(`scale ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}: plans`);
      for (const count of OFFLINE_SIZES) {
        const result = await plan(count, true);
        book.add(`plan --offline ${count}`, 'envctl', result.ms, { warmup, excluded: result.creates === count ? undefined : `planned ${result.creates} creates` });
      }
      for (const count of PLAN_SIZES) {
        const result = await plan(count, false);
        book.add(`plan ${count}`, 'envctl', result.ms, { warmup, excluded: result.creates === count ? undefined : `planned ${result.creates} creates (left-overs?)` });
      }
      for (const count of upSizes) {
        // The large sizes have no warm-up of their own (the 10-service warm-up warms the engine), and 200 is capped.
        if (warmup && (count > 10 || quick)) continue;
        if (count >= 200 && rep > REPS_200) continue;
        if (quick && rep > UP_REPS_QUICK) continue;
        ctx.progress(`scale ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}: up/down ${count}`);
        const driver = envctlDriver({ ctx, project: topologies[count].project, file: topologies[count].file, serviceCount: count });
        const up = await driver.up();
        book.add(`up ${count}`, 'envctl', up.ms, { warmup, excluded: up.changed ? undefined : 'created nothing', internalMs: up.internalMs });
        const down = await driver.down();
        book.add(`down ${count}`, 'envctl', down.ms, { warmup, internalMs: down.internalMs });
        await driver.assertGone();
      }
    }

    const side = (name) => book.side(name, 'envctl');
    const measurements = [
      ...OFFLINE_SIZES.map((count) => ({ name: `plan --offline ${count}`, what: `${count} services, no engine contacted`, envctl: side(`plan --offline ${count}`), peer: null })),
      ...PLAN_SIZES.map((count) => ({ name: `plan ${count}`, what: `${count} services against the engine, nothing existing`, envctl: side(`plan ${count}`), peer: null })),
      ...upSizes.flatMap((count) => [
        { name: `up ${count}`, what: `nothing exists → ${count} containers running${count >= 200 ? ` (${REPS_200} reps, no warm-up)` : count > 10 ? ' (no warm-up of its own)' : ''}`, envctl: side(`up ${count}`), peer: null },
        { name: `down ${count}`, what: `stop and remove ${count} containers and the network`, envctl: side(`down ${count}`), peer: null },
      ]),
    ];
    if (quick) notes.push(`--quick: up/down of 10 and 50 services, ${UP_REPS_QUICK} reps, no warm-up; 200 services skipped (about 35 s up and 15 s down per cycle on 2 cores): run without --quick for it`);
    notes.push(...growthNotes(book, [['plan --offline', OFFLINE_SIZES], ['plan', PLAN_SIZES], ['up', upSizes], ['down', upSizes]]));
    return { name: this.name, summary: this.summary, notes, measurements };
  },
};

/** Per family, the median at each size, the per-service slope between the extremes, and the fixed part. */
function growthNotes(book, families) {
  const median = (samples) => {
    if (samples.length === 0) return null;
    const sorted = [...samples].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  return families.flatMap(([family, sizes]) => {
    const points = sizes.map((count) => [count, median(book.side(`${family} ${count}`, 'envctl').samples)]).filter(([, ms]) => ms != null);
    if (points.length < 2) return [];
    const [[n0, t0], [n1, t1]] = [points[0], points.at(-1)];
    const slope = (t1 - t0) / (n1 - n0);
    return [`growth of ${family}: ${points.map(([n, t]) => `${n} → ${Math.round(t)} ms`).join(', ')}; ${slope.toFixed(slope < 10 ? 2 : 0)} ms per added service between ${n0} and ${n1} (${(t1 / t0).toFixed(1)}× the time for ${(n1 / n0).toFixed(0)}× the services)`];
  });
}
