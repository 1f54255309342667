import { Args, Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { DockerEngine } from '../../engine/docker-engine.js';
import { WorkFailedError } from '../../errors.js';
import { baseImageStates, imagesStateDir, preflight, readRecipes, runBuild, selectRecipes, toBuild, type BaseImageState } from '../../images/base-images.js';
import { formatSize } from '../../images/render.js';

export interface ImagesBuildResult {
  images: Array<BaseImageState & { action: 'built' | 'skipped' }>;
  /** Wall time of the build script; 0 when everything was skipped. */
  seconds: number;
}

export default class ImagesBuildCommand extends EnvctlCommand {
  static override summary = "Build envctl's base images on this machine (the missing and stale ones; no registry).";
  static override description = [
    'Runs the recipes in the package\'s scripts/images/ (the same build.sh as `npm run setup` in envctl\'s repository): debootstrap a Debian 12 minbase, chroot apt-get install the packages, trim, `docker import`. An image whose tag exists with the current recipe hash is skipped, so a second run is a quick check.',
    'Needs a Docker engine and the `docker` command, debootstrap (Debian/Ubuntu: `sudo apt-get install -y debootstrap debian-archive-keyring`), network access to deb.debian.org (ENVCTL_DEBIAN_MIRROR overrides it) and the npm registry (for base-node\'s Node binary), and root: run as root, or as a user with passwordless sudo (the build then runs under `sudo -n`). About 2 minutes for the first image, less for the rest; the Debian minbase is cached (in .tools/cache of a checkout, else /var/cache/envctl; ENVCTL_IMAGES_STATE overrides it).',
    'NAME is a tag (envctl/base-redis:7), the tag without its version, or the recipe folder (base-redis); none: all four. Exit 0 when all asked for are present afterwards, 1 when a build failed, 2 for an unknown name, 3 when no engine answers or root/debootstrap/docker is missing.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> images build',
    '<%= config.bin %> images build envctl/base-redis:7 --rebuild',
    'sudo apt-get install -y debootstrap debian-archive-keyring && <%= config.bin %> images build --json',
  ];
  static override strict = false;
  static override args = { name: Args.string({ description: 'base images to build (default: all)', required: false }) };
  static override flags = {
    rebuild: Flags.boolean({ description: 'build even the images that are present with the current recipe', default: false }),
    verbose: Flags.boolean({ description: "show the tools' own output (debootstrap, apt-get, docker import) instead of only the steps", default: false }),
  };

  async run(): Promise<ImagesBuildResult> {
    const { argv, flags } = await this.parse(ImagesBuildCommand);
    const selected = selectRecipes(await readRecipes(), argv as string[]);
    await DockerEngine.fromEnv(process.env).ping();
    const before = await baseImageStates(selected, process.env);
    const pending = toBuild(before, flags.rebuild);
    const say = (line: string) => {
      if (!this.jsonEnabled()) process.stdout.write(`${line}\n`);
    };
    let seconds = 0;
    if (pending.length > 0) {
      const stateDir = imagesStateDir(process.env);
      const privilege = await preflight({ env: process.env, stateDir, uid: process.geteuid?.() });
      const started = performance.now();
      await runBuild({ names: pending.map((state) => state.name), rebuild: flags.rebuild, privilege, env: process.env, stateDir, verbose: flags.verbose });
      seconds = Math.round((performance.now() - started) / 1000);
    }
    const after = await baseImageStates(selected, process.env);
    const notBuilt = after.filter((state) => state.status !== 'present');
    if (notBuilt.length > 0) {
      throw new WorkFailedError('IMAGES_NOT_BUILT', `the build finished but ${notBuilt.map((state) => `${state.tag} is ${state.status}`).join(', ')}`, 'run `envctl images build --verbose` to see every step');
    }
    const images = after.map((state) => ({ ...state, action: pending.some((p) => p.name === state.name) ? ('built' as const) : ('skipped' as const) }));
    for (const image of images) {
      say(image.action === 'built' ? `built ${image.tag} (recipe ${image.recipe}${image.size === undefined ? '' : `, ${formatSize(image.size)}`})` : `skipped ${image.tag}: present with recipe ${image.recipe}`);
    }
    if (seconds > 0) say(`done in ${seconds}s`);
    return { images, seconds };
  }
}
