import { EnvctlCommand } from '../../cli/base-command.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { baseImageStates, readRecipes, type BaseImageState } from '../../images/base-images.js';
import { renderImageStates } from '../../images/render.js';

export default class ImagesListCommand extends EnvctlCommand {
  static override summary = "List envctl's base images: each one's recipe hash and whether the engine has it (present, stale, missing).";
  static override description = [
    'The base images (envctl/base-debian:12, base-node:24, base-postgres:15, base-redis:7) are built on the machine from Debian packages, never pulled; the demo, the `envctl init` templates and the release proxy run on them.',
    'present: the tag exists, built from the current recipe; stale: it exists but was built from another recipe (or not by envctl); missing: no such tag. `envctl images build` makes the stale and missing ones.',
    'Exit code 0 whatever the status (3 when no engine answers). Nothing is changed.',
  ].join('\n');
  static override examples = ['<%= config.bin %> images list', '<%= config.bin %> images list --json | jq -r \'.[] | select(.status != "present") | .tag\''];

  async run(): Promise<BaseImageState[]> {
    await this.parse(ImagesListCommand);
    const recipes = await readRecipes();
    await DockerEngine.fromEnv(process.env).ping();
    const states = await baseImageStates(recipes, process.env);
    if (!this.jsonEnabled()) process.stdout.write(renderImageStates(states));
    return states;
  }
}
