/**
 * pipeline: envctl alone. The demo pipeline (`envctl pipeline --to staging --json`: build →
 * integration → perf → staging) on a private copy of the demo (`DEMO_PROJECT=bench-pipe-<run id>-<n>`,
 * a free web port): **cold** (fresh project: images built, no history) then **no change** (run
 * again at once). Per-stage times from the JSON result (`.record.stages[].durationMs`).
 *
 * The definition is copied to a temp dir beside a symlink to templates/, so the run records and
 * caches envctl keeps in `.envctl/` beside the definition never land in the repository. After each
 * cycle `<project>-staging` is brought down with its volumes and the images built for it removed.
 * --quick: one cycle; otherwise two (each a fresh project). No warm-up: the first run is the cold one.
 */
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ENVCTL_PROJECT_LABEL } from '../lib/docker.mjs';
import { SampleBook, timeCommand } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';

const STAGES = ['build', 'integration', 'perf', 'staging'];

export const pipeline = {
  name: 'pipeline',
  summary: 'envctl only: the demo pipeline to staging (build → integration → perf → staging) on a private copy, cold (fresh project, images built) and with nothing changed',

  async run(ctx) {
    const cycles = ctx.reps <= 3 ? 1 : 2;
    const book = new SampleBook();
    const notes = [];
    for (let cycle = 1; cycle <= cycles; cycle += 1) {
      const project = `bench-pipe-${ctx.runId}-${cycle}`;
      // The pipeline's ephemeral environments are named after the project; staging is <project>-staging.
      for (const name of [project, `${project}-staging`, `${project}-integration`, `${project}-perf`]) ctx.resources.trackEnvctlProject(name, { images: true });
      const root = await ctx.resources.tempDir('pipe');
      const demoDir = join(root, 'environments/demo');
      await mkdir(demoDir, { recursive: true });
      await copyFile(join(ctx.repoDir, 'environments/demo/envctl.yaml'), join(demoDir, 'envctl.yaml'));
      await symlink(join(ctx.repoDir, 'templates'), join(root, 'templates'));
      const file = join(demoDir, 'envctl.yaml');
      const env = { ...process.env, CI: 'true', NO_COLOR: '1', DEMO_PROJECT: project, DEMO_WEB_PORT: String(await freeLoopbackPort()) };
      const run = () => timeCommand(process.execPath, [ctx.envctlBin, 'pipeline', '--to', 'staging', '--json', '-f', file], { env, cwd: demoDir, signal: ctx.signal, timeoutMs: 600_000 });
      try {
        for (const kind of ['cold', 'no change']) {
          ctx.progress(`pipeline cycle ${cycle}/${cycles}: ${kind} (${project})`);
          const result = await run();
          const { record } = JSON.parse(result.stdout);
          const failedStage = record.stages.find((stage) => stage.status && !['passed', 'ok', 'success', 'skipped'].includes(stage.status));
          const excluded = failedStage ? `stage ${failedStage.name} ${failedStage.status}` : undefined;
          book.add(`${kind}: total`, 'envctl', result.ms, { excluded, internalMs: record.durationMs });
          for (const stage of record.stages) book.add(`${kind}: ${stage.name ?? stage.stage}`, 'envctl', stage.durationMs, { excluded });
          if (cycle === 1) notes.push(`${kind} run, stage statuses: ${record.stages.map((stage) => `${stage.name ?? stage.stage} ${stage.status}`).join(', ')}`);
        }
      } finally {
        ctx.progress(`pipeline cycle ${cycle}: down ${project}-staging --volumes`);
        await timeCommand(process.execPath, [ctx.envctlBin, 'down', '--project-name', `${project}-staging`, '--volumes', '--json', '-f', file], { env, cwd: demoDir, signal: ctx.signal }).catch((error) => ctx.log(`pipeline: down of ${project}-staging failed: ${error.message.split('\n')[0]}`));
        await ctx.resources.releaseAll();
      }
    }
    const images = await ctx.docker.listImages({ filters: { label: [`${ENVCTL_PROJECT_LABEL}`] } });
    const left = images.filter((image) => (image.RepoTags ?? []).some((tag) => tag.startsWith('bench-pipe-')));
    if (left.length > 0) notes.push(`images left after cleanup: ${left.map((image) => image.RepoTags[0]).join(', ')}`);
    const measurement = (name, what) => ({ name, what, envctl: book.side(name, 'envctl'), peer: null });
    return {
      name: this.name,
      summary: this.summary,
      notes: [`${cycles} cycle(s), each a fresh project (${ctx.reps <= 3 ? '--quick' : 'full run'}); stage times are the record's durationMs`, ...notes],
      measurements: ['cold', 'no change'].flatMap((kind) => [
        measurement(`${kind}: total`, kind === 'cold' ? 'fresh project: images built, no history → staging checked (wall clock)' : 'the same pipeline again at once (wall clock)'),
        ...STAGES.map((stage) => measurement(`${kind}: ${stage}`, `stage ${stage} (record durationMs)`)),
      ]),
    };
  },
};
