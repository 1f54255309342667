/**
 * Compose keys envctl does not run yet. `validate` and `plan` accept a Compose file that uses them
 * and name each one (key and `file:line:col`) as a warning; commands that would run the definition
 * (`up`, `pipeline`, …) keep refusing them with the same diagnostic as an error. Never dropped silently.
 */
import type { Diagnostic } from '../errors.js';
import { COMPOSE_BIND_OPTION_KEYS, COMPOSE_MOUNT_KEYS, COMPOSE_NETWORK_DEFINITION_KEYS, COMPOSE_VOLUME_OPTION_KEYS } from './compose-keys.js';
import { diagnosticAt, formatPath, type Locator } from './diagnostics.js';
import { PRIVILEGED_KEYS, privilegedKeyMessage } from './privileged.js';
import { COMPOSE_BUILD_KEYS, COMPOSE_NETWORK_ATTACH_KEYS, COMPOSE_SERVICE_KEYS, COMPOSE_TOP_LEVEL_KEYS } from './schema.js';
import type { PathSegment } from './yaml-source.js';

type Raw = Record<string, unknown>;

export const UNSUPPORTED_KEY_HINT = 'envctl validates and plans this file but cannot run this key yet; `up` refuses it (the README lists the supported Compose keys)';

function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Returns the definition without the Compose keys envctl does not run yet, and one diagnostic per
 * removed key, located at the key. `tree` is not modified.
 */
export function takeUnsupportedKeys(tree: Raw, locator: Locator): { tree: Raw; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const take = (map: Raw, keys: readonly string[], path: readonly PathSegment[]): Raw => {
    const out: Raw = {};
    for (const [key, value] of Object.entries(map)) {
      if (keys.includes(key)) {
        const message = PRIVILEGED_KEYS.includes(key) ? `${privilegedKeyMessage(key)} (${formatPath([...path, key])})` : `\`${key}\` is not supported by envctl yet (${formatPath([...path, key])})`;
        diagnostics.push(diagnosticAt(locator, [...path, key], 'UNSUPPORTED_KEY', message, PRIVILEGED_KEYS.includes(key) ? 'remove it; `up` refuses it' : UNSUPPORTED_KEY_HINT, { key: true }));
      } else {
        out[key] = value;
      }
    }
    return out;
  };
  const out = take(tree, COMPOSE_TOP_LEVEL_KEYS, []);
  if (isRecord(out.services)) {
    const services: Raw = {};
    for (const [name, service] of Object.entries(out.services)) {
      if (!isRecord(service)) {
        services[name] = service;
        continue;
      }
      const kept = take(service, COMPOSE_SERVICE_KEYS, ['services', name]);
      if (isRecord(kept.build)) kept.build = take(kept.build, COMPOSE_BUILD_KEYS, ['services', name, 'build']);
      if (isRecord(kept.networks)) {
        const networks: Raw = {};
        for (const [network, attach] of Object.entries(kept.networks)) {
          networks[network] = isRecord(attach) ? take(attach, COMPOSE_NETWORK_ATTACH_KEYS, ['services', name, 'networks', network]) : attach;
        }
        kept.networks = networks;
      }
      if (Array.isArray(kept.volumes)) {
        kept.volumes = kept.volumes.map((mount: unknown, index: number) => {
          if (!isRecord(mount)) return mount;
          const at = ['services', name, 'volumes', index];
          const long = take(mount, COMPOSE_MOUNT_KEYS, at);
          if (isRecord(long.bind)) long.bind = take(long.bind, COMPOSE_BIND_OPTION_KEYS, [...at, 'bind']);
          if (isRecord(long.volume)) long.volume = take(long.volume, COMPOSE_VOLUME_OPTION_KEYS, [...at, 'volume']);
          return long;
        });
      }
      services[name] = kept;
    }
    out.services = services;
  }
  if (isRecord(out.networks)) {
    const networks: Raw = {};
    for (const [name, network] of Object.entries(out.networks)) {
      networks[name] = isRecord(network) ? take(network, COMPOSE_NETWORK_DEFINITION_KEYS, ['networks', name]) : network;
    }
    out.networks = networks;
  }
  return { tree: out, diagnostics };
}
