/**
 * Service settings that give a container power over the host: `privileged: true`, the host's
 * network, PID, IPC or user namespace, added capabilities, devices and unconfined security
 * profiles. envctl does not run them (not even with `--allow-privileged`, which covers bind mounts
 * of `/`, `/etc` and the Docker socket): each is refused by name before anything else is checked,
 * so no definition gets them by accident or from elsewhere. Pure.
 */
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, type Locator } from './diagnostics.js';

type Raw = Record<string, unknown>;

const HOST_NAMESPACE_KEYS = ['network_mode', 'pid', 'ipc', 'userns_mode', 'uts', 'cgroup'] as const;

/** Service keys of the privileged kind: envctl will not run them at all (never "not supported yet"). */
export const PRIVILEGED_KEYS: readonly string[] = ['privileged', 'cap_add', 'devices', 'security_opt', 'use_api_socket', 'pid', 'ipc', 'userns_mode', 'uts', 'cgroup'];

/** The message for such a key whose value is harmless here (e.g. `privileged: false`): not a "yet". */
export function privilegedKeyMessage(key: string): string {
  return `\`${key}\` is not run by envctl: it exists to give containers power over the host, which envctl never does`;
}

/** Why a service setting is privileged, or undefined when it is not. */
export function privilegedSetting(key: string, value: unknown): string | undefined {
  if (key === 'privileged' && value === true) return '`privileged: true` gives the container every capability and all host devices (root on the host)';
  if ((HOST_NAMESPACE_KEYS as readonly string[]).includes(key) && typeof value === 'string' && (value === 'host' || value.startsWith('container:') || value.startsWith('service:'))) {
    return value === 'host' ? `\`${key}: host\` shares the host's ${key.replace(/_mode$/, '')} namespace with the container` : `\`${key}: ${value}\` joins another container's namespace`;
  }
  if (key === 'cap_add' && Array.isArray(value) && value.length > 0) return `\`cap_add: [${value.join(', ')}]\` adds kernel capabilities (ALL or SYS_ADMIN is root on the host)`;
  if (key === 'devices' && Array.isArray(value) && value.length > 0) return '`devices` passes host devices into the container';
  if (key === 'security_opt' && Array.isArray(value) && value.some((option) => typeof option === 'string' && /unconfined|no-new-privileges[:=]false/.test(option))) {
    return '`security_opt` turns off a confinement profile (seccomp/apparmor unconfined)';
  }
  if (key === 'use_api_socket' && value === true) return '`use_api_socket: true` hands the container the Docker API (root on the host)';
  return undefined;
}

/** One error per privileged setting in the (interpolated, merged) definition, located at its key. */
export function privilegedSettings(tree: Raw, locator: Locator): Diagnostic[] {
  const services = tree.services;
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return [];
  const out: Diagnostic[] = [];
  for (const [name, service] of Object.entries(services as Raw)) {
    if (service === null || typeof service !== 'object' || Array.isArray(service)) continue;
    for (const [key, value] of Object.entries(service as Raw)) {
      const why = privilegedSetting(key, value);
      if (why) {
        out.push(
          diagnosticAt(locator, ['services', name, key], 'PRIVILEGED_SETTING', `service "${name}": ${why}; envctl does not run privileged settings`, 'remove it; envctl runs services unprivileged (only bind mounts of /, /etc and the Docker socket can be allowed, with --allow-privileged)', { key: true }),
        );
      }
    }
  }
  return out;
}
