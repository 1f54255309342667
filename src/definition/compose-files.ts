/**
 * Several Compose files as one definition, like `docker-compose -f a.yml -f b.yml`: each later file
 * is merged over the ones before (services with Compose's merge rules, top-level volumes, networks,
 * secrets and configs replaced entry by entry). Without `--file`, a Compose file found by the lookup
 * takes `compose.override.yaml` (or `docker-compose.override.yml`, …) from its folder, as Compose does.
 * Relative paths in every file are relative to the first file's folder (Compose's project folder).
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { isRecord, mergeServices } from './compose-merge.js';

type Raw = Record<string, unknown>;

/** Compose's own override names (any one of them, beside a Compose file found by the lookup). */
export const COMPOSE_OVERRIDE_FILE_NAMES = ['docker-compose.override.yml', 'docker-compose.override.yaml', 'compose.override.yml', 'compose.override.yaml'];
const COMPOSE_FILE_NAMES = new Set(['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml']);
/** Top-level sections whose entries a later file replaces whole (Compose's rule). */
const REPLACED_BY_ENTRY = new Set(['volumes', 'networks', 'secrets', 'configs']);

/** The override file Compose would load beside `mainPath` (found by the lookup, not named with --file). */
export async function defaultOverrideFiles(mainPath: string): Promise<string[]> {
  if (!COMPOSE_FILE_NAMES.has(basename(mainPath))) return [];
  const found: string[] = [];
  for (const name of COMPOSE_OVERRIDE_FILE_NAMES) {
    const candidate = join(dirname(mainPath), name);
    if (await access(candidate).then(() => true, () => false)) found.push(candidate);
  }
  if (found.length > 1) {
    throw new UsageError('DUPLICATE_OVERRIDE', `more than one Compose override file: ${found.map((path) => basename(path)).join(', ')}`, 'keep one of them, or name the files with --file');
  }
  return found;
}

/** `override` merged over `base` (two raw definitions, `x-` keys already removed); neither is modified. */
export function mergeComposeFiles(base: Raw, override: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const previous = base[key];
    if (key === 'services' && isRecord(previous) && isRecord(value)) {
      const services: Raw = { ...previous };
      for (const [name, service] of Object.entries(value)) {
        const before = previous[name];
        services[name] = isRecord(before) && isRecord(service) ? mergeServices(before, service) : service;
      }
      out.services = services;
    } else if (REPLACED_BY_ENTRY.has(key) && isRecord(previous) && isRecord(value)) {
      out[key] = { ...previous, ...value };
    } else if (key === 'include' && Array.isArray(previous) && Array.isArray(value)) {
      out.include = [...previous, ...value];
    } else if (isRecord(previous) && isRecord(value)) {
      out[key] = deepMerge(previous, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** envctl's own sections (features, pipeline, environments): maps merge, the rest is replaced. */
function deepMerge(base: Raw, override: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const previous = base[key];
    out[key] = isRecord(previous) && isRecord(value) ? deepMerge(previous, value) : value;
  }
  return out;
}
