import { EnvctlCommand } from '../cli/base-command.js';
import { cancelOnSignals } from '../cli/cancellation.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { writeLock, type LockResult } from '../lockfile/collect.js';
import { sanitizeLine } from '../ui/sanitize.js';

export default class LockCommand extends EnvctlCommand {
  static override summary = 'Write envctl.lock: the image ID (local sha256 digest) of every service, per environment.';
  static override description =
    'For the base definition and every overlay (or only --env, keeping the others in the file): builds the images that are missing (content-addressed tags, as `up` and the pipeline build them), reads each service image\'s ID from the engine and writes envctl.lock beside the definition, keys sorted, no timestamps. Commit it; `envctl up --locked` and `envctl pipeline --locked` then refuse to run any other image (exit 1, naming the service, the expected and the found digest; exit 2 when there is no lock). An `image:` missing from the engine is an error (envctl never pulls). Exit codes: 0 written, 1 a build failed or an image is missing, 2 bad definition, 3 no engine.';
  static override examples = ['<%= config.bin %> lock', '<%= config.bin %> lock --env staging', '<%= config.bin %> lock --json | jq .environments'];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<LockResult> {
    const { flags } = await this.parse(LockCommand);
    const cancellation = cancelOnSignals(() => process.stderr.write('stopping: cancelling the build\n'));
    let result: LockResult;
    try {
      result = await writeLock({
        // It acts on the engine: a definition from elsewhere must be trusted first (`envctl trust`).
        load: this.actingLoadOptions(flags),
        engine: DockerEngine.fromEnv(process.env),
        now: Date.now,
        // Build output comes from the build: sanitised before it reaches the terminal.
        onBuildLine: (service, line) => process.stderr.write(`${service} | ${sanitizeLine(line)}\n`),
        signal: cancellation.signal,
      });
    } finally {
      cancellation.dispose();
    }
    if (!this.jsonEnabled()) {
      const lines = [`${result.changed ? 'wrote' : 'unchanged'} ${result.path}`];
      for (const [env, entry] of Object.entries(result.environments)) {
        lines.push(`  env ${env}`);
        const width = Math.max(...Object.keys(entry.services).map((service) => service.length));
        for (const [service, image] of Object.entries(entry.services).sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${service.padEnd(width)}  ${image.digest.slice(0, 19)}  ${image.image}`);
      }
      if (result.built.length > 0) lines.push(`built: ${result.built.join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return result;
  }
}
