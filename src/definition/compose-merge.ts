/**
 * Compose's rules for merging one service over another, as `extends` uses them (the Compose
 * specification's "merge" section, which docker-compose 1.29 follows): mappings merge key by key,
 * mounts merge by container path, most lists are joined without duplicates, scalars are replaced.
 * Works on the raw (not yet validated) YAML values, so both the short and the long forms merge.
 */

type Raw = Record<string, unknown>;

/** Fields that merge as mappings; list forms (`KEY=VALUE`, `name`) are read as mappings first. */
const MAPPING_FIELDS = new Set(['environment', 'labels', 'annotations', 'depends_on', 'extra_hosts', 'sysctls', 'ulimits', 'storage_opt']);
/** Lists joined without duplicates. */
const UNIQUE_LIST_FIELDS = new Set(['cap_add', 'cap_drop', 'expose', 'external_links', 'volumes_from', 'device_cgroup_rules', 'profiles', 'security_opt', 'links', 'ports']);
/** Lists (or single strings) joined as they are. */
const APPEND_FIELDS = new Set(['dns', 'dns_search', 'env_file', 'tmpfs']);
/** Mappings merged one level deep (the override's keys win). */
const SHALLOW_FIELDS = new Set(['healthcheck', 'logging', 'deploy', 'blkio_config', 'develop']);

export function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Merges `override` over `base` (both raw service mappings); neither is modified. */
export function mergeServices(base: Raw, override: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const previous = base[key];
    if (previous === undefined || previous === null || value === null || value === undefined) {
      out[key] = value;
    } else if (MAPPING_FIELDS.has(key)) {
      out[key] = { ...asMapping(previous, key === 'depends_on' ? 'name' : 'pair'), ...asMapping(value, key === 'depends_on' ? 'name' : 'pair') };
    } else if (UNIQUE_LIST_FIELDS.has(key) && Array.isArray(previous) && Array.isArray(value)) {
      out[key] = uniqueJoin(previous, value);
    } else if (APPEND_FIELDS.has(key)) {
      out[key] = [...asList(previous), ...asList(value)];
    } else if (key === 'volumes' || key === 'devices') {
      out[key] = mergeByTarget(asList(previous), asList(value));
    } else if (key === 'secrets' || key === 'configs') {
      out[key] = mergeBySource(asList(previous), asList(value));
    } else if (key === 'networks') {
      out[key] = mergeNetworks(previous, value);
    } else if (key === 'build') {
      out[key] = mergeBuild(previous, value);
    } else if (SHALLOW_FIELDS.has(key) && isRecord(previous) && isRecord(value)) {
      out[key] = { ...previous, ...value };
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** `["A=1", "B"]` or `{A: 1}` → `{A: 1, B: null}`; `[db]` → `{db: {condition: service_started}}` for depends_on. */
function asMapping(value: unknown, listForm: 'pair' | 'name'): Raw {
  if (isRecord(value)) return value;
  if (!Array.isArray(value)) return {};
  const out: Raw = {};
  for (const item of value) {
    const text = String(item);
    if (listForm === 'name') {
      out[text] = { condition: 'service_started' };
      continue;
    }
    const index = text.indexOf('=');
    if (index === -1) out[text] = null;
    else out[text.slice(0, index)] = text.slice(index + 1);
  }
  return out;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

function uniqueJoin(base: readonly unknown[], override: readonly unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const item of [...base, ...override]) {
    const id = JSON.stringify(item);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(item);
  }
  return out;
}

/** The container path of a mount (`src:/path:ro`, `/path`, or `{target: /path}`). */
function mountTarget(item: unknown): string {
  if (isRecord(item)) return String(item.target ?? JSON.stringify(item));
  const parts = String(item).split(':');
  // Windows drive letters are not a concern here: envctl runs Linux containers.
  return parts.length === 1 ? parts[0]! : parts[1]!;
}

function mergeByTarget(base: readonly unknown[], override: readonly unknown[]): unknown[] {
  const byTarget = new Map<string, unknown>();
  for (const item of [...base, ...override]) byTarget.set(mountTarget(item), item);
  return [...byTarget.values()];
}

function mergeBySource(base: readonly unknown[], override: readonly unknown[]): unknown[] {
  const bySource = new Map<string, unknown>();
  for (const item of [...base, ...override]) bySource.set(isRecord(item) ? String(item.source) : String(item), item);
  return [...bySource.values()];
}

function mergeNetworks(base: unknown, override: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(override)) return uniqueJoin(base, override);
  const a = asMapping(base, 'pair');
  const b = asMapping(override, 'pair');
  const out: Raw = { ...a };
  for (const [name, entry] of Object.entries(b)) {
    const previous = a[name];
    if (isRecord(previous) && isRecord(entry)) {
      out[name] = {
        ...previous,
        ...entry,
        ...(Array.isArray(previous.aliases) && Array.isArray(entry.aliases) ? { aliases: uniqueJoin(previous.aliases, entry.aliases) } : {}),
      };
    } else {
      out[name] = entry ?? previous ?? null;
    }
  }
  return out;
}

function mergeBuild(base: unknown, override: unknown): unknown {
  const a = typeof base === 'string' ? { context: base } : isRecord(base) ? base : {};
  const b = typeof override === 'string' ? { context: override } : isRecord(override) ? override : {};
  const out: Raw = { ...a, ...b };
  for (const field of ['args', 'labels', 'extra_hosts']) {
    if (a[field] !== undefined && b[field] !== undefined) out[field] = { ...asMapping(a[field], 'pair'), ...asMapping(b[field], 'pair') };
  }
  if (Array.isArray(a.cache_from) && Array.isArray(b.cache_from)) out.cache_from = uniqueJoin(a.cache_from, b.cache_from);
  return out;
}
