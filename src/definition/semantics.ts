/**
 * Checks that need the whole definition: references between services, volumes and networks,
 * dependency cycles, health conditions and host-port clashes. Pure.
 */
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, didYouMean, type Locator } from './diagnostics.js';
import { DEFAULT_NETWORK } from './model.js';
import type { ResolvedDefinitionInput } from './schema.js';

type Input = ResolvedDefinitionInput;

/** A service defined by an included file, as the including file's checks see it. */
export interface IncludedService {
  hasHealthcheck: boolean;
}

/** A service runs when it has no profiles, or one of them is enabled (`*` enables all). */
export function profileActive(profiles: readonly string[], active: ReadonlySet<string>): boolean {
  return profiles.length === 0 || profiles.some((profile) => active.has(profile) || active.has('*'));
}

export function checkSemantics(input: Input, activeProfiles: ReadonlySet<string>, locate: Locator, included: ReadonlyMap<string, IncludedService> = new Map()): Diagnostic[] {
  const out: Diagnostic[] = [];
  const serviceNames = [...Object.keys(input.services), ...included.keys()];
  const isActive = (profiles: readonly string[]) => profileActive(profiles, activeProfiles);

  if (serviceNames.length === 0) {
    out.push(diagnosticAt(locate, ['services'], 'NO_SERVICES', 'the definition has no services', 'declare at least one service under `services:` (or `include:` a definition)'));
  }
  for (const name of Object.keys(input.services)) {
    if (included.has(name)) out.push(diagnosticAt(locate, ['services', name], 'DUPLICATE_SERVICE', `service "${name}" is also defined by an included file`, 'rename one of them', { key: true }));
  }

  for (const [name, service] of Object.entries(input.services)) {
    const at = (...path: Array<string | number>) => ['services', name, ...path];
    if (service.image === undefined && service.build === undefined) {
      out.push(diagnosticAt(locate, at(), 'NO_IMAGE', `service "${name}" has neither an image nor a build`, 'add `image: NAME:TAG` or `build: ./path`', { key: true }));
    }
    for (const [dependency, spec] of Object.entries(service.depends_on)) {
      const external = included.get(dependency);
      if (external) {
        if (spec.condition === 'service_healthy' && !external.hasHealthcheck) {
          out.push(diagnosticAt(locate, at('depends_on', dependency), 'NO_HEALTHCHECK', `service "${name}" waits for "${dependency}" to be healthy, but "${dependency}" has no healthcheck`, `add a healthcheck to "${dependency}", or use condition: service_started`, { key: true }));
        }
        continue;
      }
      const target = Object.hasOwn(input.services, dependency) ? input.services[dependency] : undefined;
      if (!target) {
        const suggestion = didYouMean(dependency, serviceNames);
        out.push(
          diagnosticAt(locate, at('depends_on', dependency), 'UNKNOWN_DEPENDENCY', `service "${name}" depends on "${dependency}", which is not defined`, suggestion ? `did you mean "${suggestion}"?` : `defined services: ${serviceNames.join(', ')}`, {
            key: true,
          }),
        );
        continue;
      }
      if (dependency === name) {
        out.push(diagnosticAt(locate, at('depends_on', dependency), 'DEPENDENCY_CYCLE', `service "${name}" depends on itself`, undefined, { key: true }));
        continue;
      }
      if (spec.condition === 'service_healthy' && (!target.healthcheck || target.healthcheck.disabled)) {
        out.push(
          diagnosticAt(locate, at('depends_on', dependency), 'NO_HEALTHCHECK', `service "${name}" waits for "${dependency}" to be healthy, but "${dependency}" has no healthcheck`, `add a healthcheck to "${dependency}", or use condition: service_started`, {
            key: true,
          }),
        );
      }
      if (isActive(service.profiles) && !isActive(target.profiles) && spec.required) {
        out.push(
          diagnosticAt(locate, at('depends_on', dependency), 'INACTIVE_DEPENDENCY', `service "${name}" depends on "${dependency}", which is only in profile(s) ${target.profiles.join(', ')}`, `enable one with --profile ${target.profiles[0]}`, {
            key: true,
          }),
        );
      }
    }
    service.volumes.forEach((mount, index) => {
      if (mount.type === 'volume' && mount.source !== undefined && !Object.hasOwn(input.volumes, mount.source)) {
        const suggestion = didYouMean(mount.source, Object.keys(input.volumes));
        out.push(
          diagnosticAt(locate, at('volumes', index), 'UNKNOWN_VOLUME', `service "${name}" uses the volume "${mount.source}", which is not declared`, suggestion ? `did you mean "${suggestion}"?` : `declare it under the top-level \`volumes:\` (e.g. ${mount.source}: {})`),
        );
      }
    });
    for (const network of Object.keys(service.networks ?? {})) {
      if (network !== DEFAULT_NETWORK && !Object.hasOwn(input.networks, network)) {
        const suggestion = didYouMean(network, Object.keys(input.networks));
        out.push(
          diagnosticAt(locate, at('networks', network), 'UNKNOWN_NETWORK', `service "${name}" joins the network "${network}", which is not declared`, suggestion ? `did you mean "${suggestion}"?` : 'declare it under the top-level `networks:`', {
            key: true,
          }),
        );
      }
    }
  }

  out.push(...findCycles(input, locate));
  // With every profile on (`*`: down, logs, exec look at all services) services that never run
  // together may share a host port; that is no reason to refuse tearing them down.
  if (!activeProfiles.has('*')) out.push(...findPortClashes(input, isActive, locate));
  return out;
}

/** Every dependency cycle, named as a path (`a -> b -> c -> a`), reported once. */
function findCycles(input: Input, locate: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string) => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dependency of Object.keys(input.services[name]!.depends_on)) {
      if (!Object.hasOwn(input.services, dependency) || dependency === name) continue;
      if (state.get(dependency) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dependency)), dependency];
        const id = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(id)) {
          reported.add(id);
          out.push(
            diagnosticAt(locate, ['services', cycle[0]!, 'depends_on', cycle[1]!], 'DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, 'remove one of these depends_on entries', { key: true }),
          );
        }
      } else if (!state.has(dependency)) {
        visit(dependency);
      }
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(input.services)) if (!state.has(name)) visit(name);
  return out;
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '']);

function findPortClashes(input: Input, isActive: (profiles: readonly string[]) => boolean, locate: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const taken: Array<{ service: string; hostIp: string; published: number; protocol: string; text: string }> = [];
  for (const [name, service] of Object.entries(input.services)) {
    if (!isActive(service.profiles)) continue;
    service.ports.forEach((bindings, index) => {
      for (const binding of bindings) {
        if (binding.published === undefined) continue;
        const clash = taken.find(
          (other) =>
            other.published === binding.published &&
            other.protocol === binding.protocol &&
            (other.hostIp === binding.hostIp || ANY_ADDRESS.has(other.hostIp) || ANY_ADDRESS.has(binding.hostIp)),
        );
        const text = `${binding.hostIp}:${binding.published}/${binding.protocol}`;
        if (clash) {
          out.push(
            diagnosticAt(
              locate,
              ['services', name, 'ports', index],
              'PORT_CLASH',
              clash.service === name ? `service "${name}" publishes host port ${text} twice` : `host port ${text} is published by both "${clash.service}" and "${name}"`,
              'give each service its own host port',
            ),
          );
          return;
        }
        taken.push({ service: name, hostIp: binding.hostIp, published: binding.published, protocol: binding.protocol, text });
      }
    });
  }
  return out;
}
