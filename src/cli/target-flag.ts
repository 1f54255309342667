/** `--target local|swarm`: where an environment runs (one Docker engine's containers, or a swarm stack). */
import { Flags } from '@oclif/core';

export type Target = 'local' | 'swarm';

/** No default: `up` and `plan` mean local; `status`, `logs` and `down` look for what is deployed (see resolveTarget). */
export const targetFlag = Flags.option({
  options: ['local', 'swarm'] as const,
  description: 'where the environment runs: containers on this engine (local, the default) or a Docker Swarm stack (swarm); status, logs and down find a deployed stack by themselves',
  env: 'ENVCTL_TARGET',
})();

export const registryFlag = Flags.string({
  description: 'swarm target with several nodes: tag and push images to this registry (HOST[:PORT][/PATH]) and deploy them from there',
});
