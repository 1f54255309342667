/**
 * `envctl export kubernetes`: loads the environment, maps it (kubernetes-objects.ts), validates every
 * object against the schemas and renders one YAML stream, or one file per object in a folder.
 * Nothing is written unless every object is valid and no file would be replaced without `force`.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve as resolvePath } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { Document } from 'yaml';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import { builtImageRefs } from '../engine/build-image.js';
import { UsageError, type Diagnostic } from '../errors.js';
import { objectName, toKubernetesObjects, type ExportWarning, type KubernetesExport, type ManifestEntry, type RolloutsMode } from './kubernetes-objects.js';
import { assertValidObjects } from './kubernetes-validate.js';
import { exists } from '../fs-util.js';

/** How every exported file begins (the YAML comment of the header). */
const EXPORT_MARK = '# Exported by envctl from';

export interface ExportKubernetesOptions {
  load: LoadOptions;
  /** `--out DIR`, relative to `load.cwd`: one file per object; undefined means one stream for stdout. */
  outDir?: string | undefined;
  force?: boolean | undefined;
  rollouts: RolloutsMode;
  registry?: string | undefined;
}

export interface ExportKubernetesResult {
  definition: string;
  env: string;
  project: string;
  objects: Array<{ kind: string; name: string; file: string | undefined }>;
  /** Absolute folder written, or undefined when the stream goes to stdout. */
  outDir: string | undefined;
  /** The YAML stream (also when files were written). */
  manifests: string;
  /** The same stream with every Secret's values replaced by `<redacted>`: what `--json` shows (JSON output lands in CI logs). */
  redactedManifests: string;
  warnings: ExportWarning[];
  /** The definition's own warnings (as every command shows them). */
  diagnostics: Diagnostic[];
}

export async function exportKubernetes(options: ExportKubernetesOptions): Promise<ExportKubernetesResult> {
  if (options.registry !== undefined && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/i.test(options.registry)) {
    throw new UsageError('BAD_FLAG', `invalid --registry "${options.registry}"`, 'give a registry host and optional path, e.g. registry.example.com/team');
  }
  const model = await loadDefinition(options.load);
  const exported = toKubernetesObjects({ model, builtImages: await builtImages(model), rollouts: options.rollouts, registry: options.registry, files: await fileObjectContents(model) });
  assertValidObjects(exported.entries.map((entry) => entry.object));
  // The definition's path relative to where the command runs: the same text on every machine.
  const source = relative(options.load.cwd, model.file) || model.file;
  const manifests = renderManifestStream(model, exported, source);
  const outDir = options.outDir === undefined ? undefined : resolvePath(options.load.cwd, options.outDir);
  const files = exported.entries.map((entry) => manifestFileName(entry));
  if (outDir !== undefined) {
    const existing: string[] = [];
    for (const file of files) if (await exists(join(outDir, file))) existing.push(file);
    if (existing.length > 0 && !options.force) {
      throw new UsageError('OUTPUT_EXISTS', `${options.outDir} already has ${existing.join(', ')}`, 'pass --force to replace them, or choose another --out folder');
    }
    await mkdir(outDir, { recursive: true });
    // A Secret's file holds the secret values: readable by its owner only.
    for (const [index, entry] of exported.entries.entries()) await writeFileAtomic(join(outDir, files[index]!), renderManifestFile(model, entry, source), { mode: entry.object.kind === 'Secret' ? 0o600 : 0o644 });
    exported.warnings.push(...(await leftovers(outDir, files)));
  }
  return {
    definition: model.file,
    env: model.env,
    project: model.project,
    objects: exported.entries.map((entry, index) => ({ kind: entry.object.kind, name: objectName(entry), file: outDir === undefined ? undefined : join(outDir, files[index]!) })),
    outDir,
    manifests,
    redactedManifests: renderManifestStream(model, { ...exported, entries: exported.entries.map(redactSecret) }, source),
    warnings: exported.warnings,
    diagnostics: model.warnings,
  };
}

/** The content-hashed tag of every built service, as `up` tags it (file hashes cached in `.envctl/`; no engine needed). */
async function builtImages(model: EnvironmentModel): Promise<Record<string, string>> {
  const refs = await builtImageRefs(model, Date.now);
  return Object.fromEntries(Object.entries(refs).map(([service, { ref }]) => [service, ref]));
}

/** The files of top-level `secrets:` and `configs:` (where the model has them), by absolute path. */
async function fileObjectContents(model: EnvironmentModel): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [kind, objects] of [['secrets', model.secrets ?? {}], ['configs', model.configs ?? {}]] as const) {
    for (const object of Object.values(objects)) {
      try {
        out[object.file] = await readFile(object.file);
      } catch (error) {
        throw new UsageError('FILE_UNREADABLE', `cannot read ${object.file} for ${kind}.${object.key}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'create the file, or fix its path in the definition');
      }
    }
  }
  return out;
}

/**
 * Files of an earlier export in the folder that this export did not write (an object that is gone):
 * `kubectl apply -f DIR` would still apply them. Named, never deleted: the folder is the user's.
 */
async function leftovers(outDir: string, written: readonly string[]): Promise<ExportWarning[]> {
  const out: ExportWarning[] = [];
  for (const file of (await readdir(outDir)).sort()) {
    if (!file.endsWith('.yaml') || written.includes(file)) continue;
    const head = await readFile(join(outDir, file), 'utf8').then((text) => text.slice(0, 100), () => '');
    if (head.startsWith(EXPORT_MARK)) out.push({ service: undefined, key: file, message: 'is from an earlier export and matches no object of this one: remove it before applying the folder' });
  }
  return out;
}

/** `deployment-web.yaml`: kind and name, so a folder listing reads like `kubectl get`. */
export function manifestFileName(entry: ManifestEntry): string {
  return `${entry.object.kind.toLowerCase()}-${objectName(entry)}.yaml`;
}

/** All objects as one stream (`---` between documents), the notes in the first document's header. */
export function renderManifestStream(model: EnvironmentModel, exported: KubernetesExport, source: string): string {
  const header = [...headerLines(model, source), ...exported.notes.map((note) => ` ${note}`), ...exported.warnings.map((warning) => ` Not exported: ${warning.key}: ${warning.message}`)];
  return exported.entries.map((entry, index) => renderDocument(entry, index === 0 ? [...header, ''] : [])).join('---\n');
}

function renderManifestFile(model: EnvironmentModel, entry: ManifestEntry, source: string): string {
  return renderDocument(entry, [...headerLines(model, source), '']);
}

function headerLines(model: EnvironmentModel, source: string): string[] {
  return [`${EXPORT_MARK.slice(1)} ${source} (env ${model.env}), project ${model.project}.`];
}

function renderDocument(entry: ManifestEntry, header: string[]): string {
  // No anchors: a shared label map is written out in full in each place (as kubectl would).
  const document = new Document(entry.object, { aliasDuplicateObjects: false });
  const comment = [...header, ...entry.comment.map((line) => ` ${line}`)];
  if (comment.length > 0) document.commentBefore = comment.join('\n');
  return document.toString({ lineWidth: 0 });
}

/** A Secret with each value of `data` / `stringData` replaced by `<redacted>` (keys kept); any other object unchanged. */
export function redactSecret(entry: ManifestEntry): ManifestEntry {
  if (entry.object.kind !== 'Secret') return entry;
  const object = { ...(entry.object as unknown as Record<string, unknown>) };
  for (const field of ['data', 'stringData']) {
    const values = object[field];
    if (values && typeof values === 'object') object[field] = Object.fromEntries(Object.keys(values).map((key) => [key, '<redacted>']));
  }
  return { ...entry, object: object as unknown as ManifestEntry['object'] };
}
