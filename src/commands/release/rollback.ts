import { EnvctlCommand } from '../../cli/base-command.js';
import { actorName, noticePrinter, outcomeJson, printOutcome } from '../../cli/release-support.js';
import { releaseIdArg } from '../../cli/release-existing.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { SwarmDockerEngine } from '../../engine/swarm-docker.js';
import { rollbackRelease } from '../../release/release.js';

export default class ReleaseRollbackCommand extends EnvctlCommand {
  static override summary = 'Roll a promoted release back: production is the previous version again, instantly.';
  static override description =
    'One weight flip in the release proxy: no rebuild, no analysis, no restart. Needs the previous version still kept (`retainPrevious`, until `envctl release gc` or the next release). On a release still in progress it is the same as `release abort`.';
  static override examples = ['<%= config.bin %> release rollback', '<%= config.bin %> release rollback r-20261126T120000Z-1a2b --json'];
  static override args = releaseIdArg;
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ReleaseRollbackCommand);
    const mode = this.outputMode();
    const outcome = await rollbackRelease({
      load: this.loadOptions(flags),
      engine: DockerEngine.fromEnv(process.env),
      swarm: SwarmDockerEngine.fromEnv(process.env),
      id: args.id,
      notify: noticePrinter(mode),
      now: () => new Date(),
      signal: new AbortController().signal,
      confirm: undefined,
      actor: actorName(),
    });
    printOutcome(mode, outcome);
    process.exitCode = outcome.exitCode;
    return outcomeJson(outcome);
  }
}
