/** `--target local|swarm`: where an environment runs (one Docker engine's containers, or a swarm stack). */
import { Flags } from '@oclif/core';

export type Target = 'local' | 'swarm';

export const targetFlag = Flags.option({
  options: ['local', 'swarm'] as const,
  default: 'local' as const,
  description: 'where the environment runs: containers on this engine (local) or a Docker Swarm stack (swarm)',
  env: 'ENVCTL_TARGET',
})();

export const registryFlag = Flags.string({
  description: 'swarm target with several nodes: tag and push images to this registry (HOST[:PORT][/PATH]) and deploy them from there',
});
