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
import { diagnosticAt, fileLocator } from './diagnostics.js';
import type { SourceFile } from './yaml-source.js';

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

/** Returns `raw` with every service's `extends` resolved; throws a DefinitionError located at the `extends` key. */
export async function resolveExtends(file: ExtendsFile, read: ReadExtendsFile, cwd: string): Promise<Raw> {
  const services = file.raw.services;
  if (!isRecord(services) || !Object.values(services).some((service) => isRecord(service) && service.extends !== undefined)) return file.raw;
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
  return { ...file.raw, services: out };
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
