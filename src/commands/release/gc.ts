import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { noticePrinter } from '../../cli/release-support.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { SwarmDockerEngine } from '../../engine/swarm-docker.js';
import { gcReleases, type GcResult } from '../../release/release.js';

export default class ReleaseGcCommand extends EnvctlCommand {
  static override summary = 'Decommission previous versions kept for rollback after a promotion.';
  static override description = 'Removes the previous version’s container of each promoted release whose `retainPrevious` has passed; with --all, of every promoted release now. After that, `release rollback` is no longer possible for them.';
  static override examples = ['<%= config.bin %> release gc', '<%= config.bin %> release gc --all'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    all: Flags.boolean({ description: 'decommission now, whatever the retention', default: false }),
  };

  async run(): Promise<GcResult> {
    const { flags } = await this.parse(ReleaseGcCommand);
    const mode = this.outputMode();
    const result = await gcReleases({ load: this.loadOptions(flags), engine: DockerEngine.fromEnv(process.env), swarm: SwarmDockerEngine.fromEnv(process.env), now: () => new Date(), all: flags.all, notify: noticePrinter(mode) });
    if (mode !== 'json') {
      if (result.decommissioned.length === 0) process.stdout.write('nothing to decommission\n');
      for (const kept of result.kept) process.stdout.write(`kept the version before ${kept.id} until ${kept.until} (--all decommissions it now)\n`);
    }
    return result;
  }
}
