/**
 * The labels on every engine object envctl creates: the truth about what runs (design.md).
 * Anything can be found again by them after a crash; nothing without them is ever touched.
 */
export const LABEL = {
  project: 'dev.envctl.project',
  env: 'dev.envctl.env',
  service: 'dev.envctl.service',
  configHash: 'dev.envctl.config-hash',
  /** Per-field hashes (`image=…,environment=…`), so a plan can name what changed without storing values. */
  fieldHashes: 'dev.envctl.field-hashes',
  /** Release containers: `canary`, `baseline` or `proxy` (the service's own container has none). */
  slot: 'dev.envctl.slot',
  /** The release id on release containers. */
  release: 'dev.envctl.release',
  run: 'dev.envctl.run',
  /** The definition key of a network or volume (its engine name may differ). */
  network: 'dev.envctl.network',
  volume: 'dev.envctl.volume',
  /** On built images: the content hash of the build inputs. */
  buildHash: 'dev.envctl.build-hash',
  /** `swarm` on the objects of the swarm target (services, overlay networks, secrets, configs, volumes); absent for the local target. */
  target: 'dev.envctl.target',
  /** Swarm services: the image reference as written or built (the spec names the image by ID so nodes never pull). */
  image: 'dev.envctl.image',
  /** Swarm secrets and configs: their key in the definition (the engine name carries a content hash). */
  secret: 'dev.envctl.secret',
  config: 'dev.envctl.config',
} as const;

/** Labels identifying one environment of one project. */
export function environmentLabels(project: string, env: string): Record<string, string> {
  return { [LABEL.project]: project, [LABEL.env]: env };
}
