/**
 * Compose's `extends`: a service starts from another service, in the same file
 * (`extends: base` or `extends: {service: base}`) or in another one (`extends: {file, service}`),
 * and its own keys are merged over it with Compose's merge rules (compose-merge.ts). Resolved on the
 * raw document, before overlays and interpolation, like Compose does per file. Paths written in
 * another file stay relative to that file (they are made absolute here).
 */
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { DefinitionError, type Diagnostic } from '../errors.js';
import { isRecord, mergeServices } from './compose-merge.js';
import { diagnosticAt, fileLocator, type Locator } from './diagnostics.js';
import { locate, type PathSegment, type SourceFile } from './yaml-source.js';

type Raw = Record<string, unknown>;

/** `extends` chains longer than this are refused (a cycle is reported before). */
export const MAX_EXTENDS_DEPTH = 16;

export interface ExtendsFile {
  path: string;
  source: SourceFile;
  raw: Raw;
}

/** Reads another definition file (size cap, strict YAML, `x-` keys removed). */
export type ReadExtendsFile = (path: string) => Promise<ExtendsFile>;

/** Where a service's inherited keys were written: the services it extends, nearest first. */
export type ExtendsProvenance = ReadonlyMap<string, ReadonlyArray<{ source: SourceFile; service: string }>>;

/**
 * Returns `raw` with every service's `extends` resolved, and where each extending service's
 * inherited keys were written; throws a DefinitionError located at the `extends` key.
 */
/**
 * `outside(path)` returns the message and hint when another file named by `extends: {file:}` leaves the
 * project's path scope (checked before it is read, like `include:`).
 */
export type ExtendsConfinement = (path: string, written: string) => Promise<{ message: string; hint: string } | undefined>;

export async function resolveExtends(file: ExtendsFile, read: ReadExtendsFile, cwd: string, outside?: ExtendsConfinement): Promise<{ raw: Raw; provenance: ExtendsProvenance }> {
  const services = file.raw.services;
  const provenance = new Map<string, Array<{ source: SourceFile; service: string }>>();
  if (!isRecord(services) || !Object.values(services).some((service) => isRecord(service) && service.extends !== undefined)) return { raw: file.raw, provenance };
  const bases = new Map<string, { source: SourceFile; service: string; id: string }>();
  const files = new Map<string, ExtendsFile>([[file.path, file]]);
  const done = new Map<string, Raw>();
  const problems: Diagnostic[] = [];

  const resolveService = async (at: ExtendsFile, name: string, chain: readonly string[]): Promise<Raw | undefined> => {
    const id = `${at.path}#${name}`;
    const cached = done.get(id);
    if (cached) return cached;
    const service = (at.raw.services as Raw)[name];
    if (!isRecord(service)) return undefined;
    if (service.extends === undefined) return service;
    const locator = fileLocator(at.source);
    const fail = (code: string, message: string, hint?: string): undefined => {
      problems.push(diagnosticAt(locator, ['services', name, 'extends'], code, message, hint));
      return undefined;
    };
    const spec = typeof service.extends === 'string' ? { service: service.extends } : service.extends;
    if (!isRecord(spec) || typeof spec.service !== 'string' || (spec.file !== undefined && typeof spec.file !== 'string')) {
      return fail('INVALID_VALUE', '`extends` takes a service name, or {service: NAME, file: PATH}', 'e.g. extends: {file: common.yml, service: base}');
    }
    const targetPath = spec.file === undefined ? at.path : resolvePath(dirname(at.path), spec.file);
    const targetId = `${targetPath}#${spec.service}`;
    if (chain.includes(targetId) || targetId === id) {
      return fail('EXTENDS_CYCLE', `extends cycle: ${[...chain, id, targetId].map((entry) => show(entry, cwd)).join(' -> ')}`, 'remove one of the extends');
    }
    if (chain.length >= MAX_EXTENDS_DEPTH) return fail('EXTENDS_DEPTH', `extends chains deeper than ${MAX_EXTENDS_DEPTH} services`);
    let target = files.get(targetPath);
    if (!target && spec.file !== undefined && outside) {
      const refusal = await outside(targetPath, spec.file);
      if (refusal) return fail('PATH_OUTSIDE_PROJECT', refusal.message, refusal.hint);
    }
    if (!target) {
      try {
        target = await read(targetPath);
      } catch (error) {
        if (error instanceof DefinitionError) {
          problems.push(...error.diagnostics);
          return undefined;
        }
        throw error;
      }
      files.set(targetPath, target);
    }
    const targetServices = target.raw.services;
    if (!isRecord(targetServices) || !isRecord(targetServices[spec.service])) {
      const where = spec.file === undefined ? '' : ` in ${spec.file}`;
      return fail('UNKNOWN_SERVICE', `service "${name}" extends "${spec.service}", which is not defined${where}`, 'extends names a service under `services:`');
    }
    const base = await resolveService(target, spec.service, [...chain, id]);
    if (!base) return undefined;
    bases.set(id, { source: target.source, service: spec.service, id: targetId });
    const { extends: _extends, ...own } = service;
    const rebased = target.path === at.path ? base : absolutePaths(base, dirname(target.path));
    const merged = mergeServices(rebased, own);
    done.set(id, merged);
    return merged;
  };

  const out: Raw = {};
  for (const name of Object.keys(services)) {
    out[name] = (await resolveService(file, name, [])) ?? services[name];
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  for (const name of Object.keys(services)) {
    const chain: Array<{ source: SourceFile; service: string }> = [];
    for (let base = bases.get(`${file.path}#${name}`); base && chain.length <= MAX_EXTENDS_DEPTH; base = bases.get(base.id)) chain.push({ source: base.source, service: base.service });
    if (chain.length > 0) provenance.set(name, chain);
  }
  return { raw: { ...file.raw, services: out }, provenance };
}

/**
 * A locator that finds a key an extending service inherited where it was written: in the service
 * it extends (in whichever file), when the extending service does not write it itself.
 */
export function withExtendsProvenance(locator: Locator, own: readonly SourceFile[], provenance: ExtendsProvenance, overlayPrefix: readonly PathSegment[] = []): Locator {
  if (provenance.size === 0) return locator;
  const writes = (source: SourceFile, path: readonly PathSegment[], options: { key?: boolean }) =>
    locate(source, path, options).depth === path.length || (overlayPrefix.length > 0 && locate(source, [...overlayPrefix, ...path], options).depth === overlayPrefix.length + path.length);
  return (path, options = {}) => {
    const chain = path[0] === 'services' && path.length > 2 ? provenance.get(String(path[1])) : undefined;
    if (!chain || own.some((source) => writes(source, path, options))) return locator(path, options);
    for (const base of chain) {
      const basePath = ['services', base.service, ...path.slice(2)];
      const found = locate(base.source, basePath, options);
      if (found.depth === basePath.length) return { source: base.source, offset: found.offset };
    }
    return locator(path, options);
  };
}

function show(id: string, cwd: string): string {
  const [path, service] = [id.slice(0, id.lastIndexOf('#')), id.slice(id.lastIndexOf('#') + 1)];
  return `${relative(cwd, path) || path}:${service}`;
}

/** Paths of a service from another file, made absolute against that file's folder. */
function absolutePaths(service: Raw, dir: string): Raw {
  const out: Raw = { ...service };
  const abs = (path: string) => (isAbsolute(path) || path.startsWith('~') || path.includes('$') ? path : resolvePath(dir, path));
  if (typeof out.build === 'string') out.build = abs(out.build);
  else if (isRecord(out.build)) out.build = { ...out.build, context: abs(typeof out.build.context === 'string' ? out.build.context : '.') };
  if (typeof out.env_file === 'string') out.env_file = abs(out.env_file);
  else if (Array.isArray(out.env_file)) out.env_file = out.env_file.map((entry) => (typeof entry === 'string' ? abs(entry) : isRecord(entry) && typeof entry.path === 'string' ? { ...entry, path: abs(entry.path) } : entry));
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((mount) => {
      if (typeof mount === 'string') {
        const [source, ...rest] = mount.split(':');
        return rest.length > 0 && source!.startsWith('.') ? [abs(source!), ...rest].join(':') : mount;
      }
      if (isRecord(mount) && mount.type === 'bind' && typeof mount.source === 'string') return { ...mount, source: abs(mount.source) };
      return mount;
    });
  }
  return out;
}
