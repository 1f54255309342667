import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { findRunLeftovers, removeRunLeftover, type RunLeftover } from '../../pipeline/leftovers.js';

export interface RunsGcResult {
  removed: RunLeftover[];
  skipped: RunLeftover[];
}

export default class RunsGcCommand extends EnvctlCommand {
  static override summary = 'Remove the environments pipeline runs left behind (killed runs, environments kept with --keep-on-failure).';
  static override description =
    'Finds the integration, perf and build-stage environments of this project (`<name>-it-<suffix>` …) by their labels (dev.envctl.run) and removes their containers, networks and volumes. A run whose pipeline process is still alive is left alone. --dry-run lists them only. Nothing without the labels is touched; the developer environment (`envctl down`) and staging are not affected.';
  static override examples = ['<%= config.bin %> runs gc', '<%= config.bin %> runs gc --dry-run --json'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    'dry-run': Flags.boolean({ description: 'list what would be removed, remove nothing', default: false }),
  };

  async run(): Promise<RunsGcResult> {
    const { flags } = await this.parse(RunsGcCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const engine = DockerEngine.fromEnv(process.env);
    await engine.ping();
    const leftovers = await findRunLeftovers(model, engine);
    const say = (line: string) => {
      if (!this.jsonEnabled()) process.stdout.write(`${line}\n`);
    };
    const removed: RunLeftover[] = [];
    const skipped: RunLeftover[] = [];
    for (const leftover of leftovers) {
      if (leftover.skipped) {
        skipped.push(leftover);
        say(`kept ${leftover.project}: ${leftover.skipped}`);
        continue;
      }
      if (flags['dry-run']) {
        say(`would remove ${leftover.project} (run ${leftover.runId}): ${leftover.objects.join(', ')}`);
        continue;
      }
      await removeRunLeftover(model, leftover, { engine, emit: () => undefined, now: Date.now });
      removed.push(leftover);
      say(`removed ${leftover.project} (run ${leftover.runId}): ${leftover.objects.join(', ')}`);
    }
    if (leftovers.length === 0) say(`no leftover run environments of ${model.project} (env ${model.env})`);
    return { removed, skipped };
  }
}
