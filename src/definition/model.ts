/**
 * The typed model of one environment as it will run: what the planner, the engine and the
 * pipeline consume. Built only by `resolveDefinition`; everything in it has been validated.
 */
import type { Diagnostic } from '../errors.js';
import type { dependencyConditions, PipelineConfig } from './schema.js';
import type { DeployConfig } from './deploy-schema.js';
import type { Mount, PortBinding } from './values.js';

export type DependencyCondition = (typeof dependencyConditions)[number];

export interface Dependency {
  condition: DependencyCondition;
  required: boolean;
  restart: boolean;
}

export type Healthcheck =
  | { disabled: true }
  | { disabled: false; test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number; startIntervalMs: number };

export interface BuildSpec {
  /** Absolute path of the build context. */
  context: string;
  /** Dockerfile path relative to the context (as Docker expects it). */
  dockerfile: string;
  args: Record<string, string>;
  target: string | undefined;
}

export interface ServiceModel {
  name: string;
  /** The image as written; for built services the planner derives a content-addressed tag instead. */
  image: string | undefined;
  build: BuildSpec | undefined;
  command: string[] | undefined;
  entrypoint: string[] | undefined;
  /** Final variables: env_file values, then `environment`, then the declared feature toggles not set explicitly. */
  environment: Record<string, string>;
  ports: PortBinding[];
  expose: string[];
  /** Bind sources are absolute; volume sources are the definition's volume keys. */
  mounts: Mount[];
  /** Network key → aliases; every service is on at least one network. */
  networks: Record<string, { aliases: string[] }>;
  dependsOn: Record<string, Dependency>;
  healthcheck: Healthcheck | undefined;
  restart: string;
  labels: Record<string, string>;
  workingDir: string | undefined;
  user: string | undefined;
  init: boolean;
  stopSignal: string | undefined;
  stopGracePeriodMs: number | undefined;
  profiles: string[];
  /** Compose `deploy:` (normalised); absent when not written. The swarm target uses all of it; local `up` applies resources. */
  deploy?: DeployConfig | undefined;
  /** Secrets and configs mounted into the service (absent or empty: none). */
  secrets?: FileGrant[];
  configs?: FileGrant[];
  /** The toggles this service declares it uses (`features: [name]`): only these reach it as FEATURE_*. */
  features: string[];
}

export type { DeployConfig };

/** A secret or config mounted into a service: the top-level key, the absolute path in the container, owner and mode. */
export interface FileGrant {
  source: string;
  target: string;
  uid: string | undefined;
  gid: string | undefined;
  mode: number | undefined;
}

/** A top-level secret or config: its content comes from `file` (absolute path). */
export interface FileObjectModel {
  key: string;
  file: string;
  labels: Record<string, string>;
}

export interface VolumeModel {
  key: string;
  /** Engine name: `<prefix>_<key>` unless `name:` or external. */
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  external: boolean;
  labels: Record<string, string>;
}

export interface NetworkModel {
  key: string;
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  external: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
}

export interface EnvironmentModel {
  project: string;
  /** The project whose name prefixes built images: the same as `project`, except for a pipeline's environments, which deploy the images the build stage made. */
  imageProject: string;
  /** `default` when no `--env` was given. */
  env: string;
  /** Prefix for engine object names: `<project>` for the default env, `<project>-<env>` otherwise. */
  prefix: string;
  file: string;
  projectDir: string;
  /** Active services (profiles applied), in definition order. */
  services: Record<string, ServiceModel>;
  /** Every service the definition declares, active or not (a disabled profile's service is no orphan). */
  declaredServices: string[];
  volumes: Record<string, VolumeModel>;
  networks: Record<string, NetworkModel>;
  /** Top-level `secrets:` / `configs:` (absent: none). */
  secrets?: Record<string, FileObjectModel>;
  configs?: Record<string, FileObjectModel>;
  /** Effective toggles: the definition's (overlay applied), then the runtime overrides of `envctl feature`. */
  features: Record<string, boolean>;
  /** The runtime overrides (`envctl feature enable|disable`) applied to `features`, if any. */
  featureOverrides?: Record<string, boolean>;
  pipeline: PipelineConfig | undefined;
  /** The folder of the file that declared `pipeline:` (its commands run there, its paths are relative to it). */
  pipelineDir: string;
  /** Environments the file declares (for `validate` and error hints). */
  environments: string[];
  /** Extra labels on every object of this environment (e.g. `dev.envctl.run` for a pipeline's ephemeral environments). */
  labels: Record<string, string>;
  warnings: Diagnostic[];
  /** Host paths outside the project folder the definition is allowed to use (`x-envctl-allow-paths`, realpaths); covered by `envctl trust`. */
  allowedHostPaths?: string[];
  /** Where bind sources may resolve (project folder, allowances, --allow-outside) and whether privileged paths were allowed: re-checked right before a container is created. */
  bindPolicy?: { roots: string[]; allowPrivileged: boolean };
}

export const DEFAULT_ENV = 'default';
export const DEFAULT_NETWORK = 'default';
