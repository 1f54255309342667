/**
 * demo: envctl alone on the repository's demo (environments/demo/envctl.yaml: web and worker
 * built from templates/, PostgreSQL, Redis), as a private copy (`DEMO_PROJECT=bench-…`, its own
 * web port) that never clashes with a running demo. The warm-up builds the images, so a "cold up"
 * here means no containers or volumes but images present: PostgreSQL initialises its data
 * directory on every cold up. Each rep ends with `down --volumes` (timed), as a user resetting the
 * demo does.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envctlDriver } from '../lib/drivers.mjs';
import { SampleBook } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';

export const demo = {
  name: 'demo',
  summary: 'envctl only: the repository demo (web + worker built from templates/, PostgreSQL 15, Redis 7); images built during the warm-up',

  async run(ctx) {
    const project = `bench-${ctx.runId}-demo`;
    const file = join(ctx.repoDir, 'environments/demo/envctl.yaml');
    ctx.resources.trackEnvctlProject(project, { images: true });
    // envctl keeps its lock in .envctl/locks beside the definition: do not leave one in the tree.
    const stateDir = join(dirname(file), '.envctl');
    if (!existsSync(stateDir)) ctx.resources.trackEmptyDirs([join(stateDir, 'locks'), stateDir]);
    const driver = envctlDriver({
      ctx,
      project,
      file,
      env: { DEMO_PROJECT: project, DEMO_WEB_PORT: String(await freeLoopbackPort()) },
      serviceCount: 4,
    });

    const book = new SampleBook();
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      const warmup = rep === 0;
      ctx.progress(`demo ${warmup ? 'warm-up (builds the images)' : `rep ${rep}/${ctx.reps}`}`);
      const cold = await driver.up();
      book.add(warmup ? 'first up (build)' : 'cold up', 'envctl', cold.ms, { warmup, excluded: cold.changed ? undefined : 'created nothing', internalMs: cold.internalMs });
      const again = await driver.up();
      // Someone editing templates/ during the run makes this rebuild: such a sample is excluded.
      book.add('no-change up', 'envctl', again.ms, { warmup, excluded: again.changed ? 'changed something (a build context was edited during the run?)' : undefined, internalMs: again.internalMs });
      const down = await driver.downVolumes();
      book.add('down --volumes', 'envctl', down.ms, { warmup, internalMs: down.internalMs });
      await driver.assertGone();
    }

    const measurement = (name, what) => ({ name, what, envctl: book.side(name, 'envctl'), peer: null });
    return {
      name: this.name,
      summary: this.summary,
      notes: ['no peer: docker-compose is measured on topology-10; the demo shows where envctl spends time on real services'],
      measurements: [
        measurement('first up (build)', 'warm-up only: builds web and worker images (Docker layer cache may already hold them), then all ready'),
        measurement('cold up', 'images present, no containers or volume → all 4 ready (PostgreSQL initialises its data dir)'),
        measurement('no-change up', 'up again with nothing changed'),
        measurement('down --volumes', 'remove 4 containers, the network and the volume'),
      ],
    };
  },
};
