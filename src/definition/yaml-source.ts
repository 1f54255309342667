/**
 * Reading a definition file: size cap, safe YAML parsing, and mapping paths back to `file:line:col`.
 * Everything here is about one file; overlays and interpolation come later and ask this module
 * where a value was written.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node, type Pair } from 'yaml';
import { DefinitionError, type Diagnostic } from '../errors.js';

/** Larger definitions are refused before parsing (a real topology is a few KiB). */
export const MAX_DEFINITION_BYTES = 4 * 1024 * 1024;
/**
 * Alias expansion limits (billion laughs). What a document expands to is measured on the parsed
 * tree before any value is built: at most MAX_EXPANDED_NODES values in all, and at most
 * MAX_ALIAS_COUNT aliases written. The `yaml` package's own heuristic (uses × aliases inside the
 * anchor, 100 by default) refuses ordinary Compose files that share defaults through nested merge
 * keys (a 60-service file in the style of Sentry's self-hosted one needs more than 5,000), while a
 * bound on the expanded size stops every bomb and still admits such files (they expand to a few
 * thousand values).
 */
export const MAX_ALIAS_COUNT = 10_000;
export const MAX_EXPANDED_NODES = 200_000;
/** Diagnostics shown for a file that does not parse. */
const MAX_YAML_DIAGNOSTICS = 10;
/** Keys that could reach an object prototype if anything downstream ever used Object.assign. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

export type PathSegment = string | number;

export interface SourceFile {
  /** Path as the user should see it (relative to the working directory when possible). */
  display: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface ParsedSource {
  source: SourceFile;
  value: Record<string, unknown>;
}

export async function readDefinitionText(path: string, display: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new DefinitionError([fileDiagnostic(display, 'NOT_A_FILE', 'the definition path is not a file', 'pass the YAML file itself with --file')]);
    }
    size = info.size;
  } catch (error) {
    if (error instanceof DefinitionError) throw error;
    throw new DefinitionError([
      fileDiagnostic(display, 'FILE_NOT_FOUND', `cannot read the definition: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check the path given with --file'),
    ]);
  }
  if (size > MAX_DEFINITION_BYTES) {
    throw new DefinitionError([
      fileDiagnostic(
        display,
        'FILE_TOO_LARGE',
        `the definition is ${(size / 1024 / 1024).toFixed(1)} MiB; envctl reads at most ${MAX_DEFINITION_BYTES / 1024 / 1024} MiB`,
        'is this the right file? A definition describes services, not data',
      ),
    ]);
  }
  return readFile(path, 'utf8');
}

/**
 * Parses one YAML document strictly (YAML 1.2 core schema, unique keys, no custom tags). Merge keys
 * (`<<: *base`, `<<: [*a, *b]`) are expanded like Compose does: real Compose files use them widely;
 * the alias limit below bounds what they expand to.
 */
export function parseDefinitionText(display: string, text: string): ParsedSource {
  const lines = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lines,
      uniqueKeys: true,
      merge: true,
      prettyErrors: false,
      strict: true,
      schema: 'core',
      version: '1.2',
    }) as Document.Parsed[];
  } catch (error) {
    throw new DefinitionError([fileDiagnostic(display, 'YAML_ERROR', `cannot parse YAML: ${messageOf(error)}`)]);
  }
  const first = docs[0];
  if (!first || (first.contents === null && first.errors.length === 0)) {
    throw new DefinitionError([
      fileDiagnostic(display, 'EMPTY_DEFINITION', 'the definition is empty', 'start with `services:` (see `envctl init` or the README)'),
    ]);
  }
  const source: SourceFile = { display, text, doc: first, lines };
  const yamlProblems = [...first.errors, ...first.warnings];
  if (yamlProblems.length > 0) {
    // One broken construct can cascade into hundreds of parser errors: the first few are what helps.
    throw new DefinitionError(
      yamlProblems.slice(0, MAX_YAML_DIAGNOSTICS).map((problem) => {
        if (problem.code === 'RESOURCE_EXHAUSTION' || /call stack/i.test(problem.message)) {
          return fileDiagnostic(display, 'TOO_DEEP', 'the definition nests too deeply to parse', 'a definition nests a few levels; check for runaway brackets');
        }
        const offset = problem.code === 'MISSING_CHAR' && /quot/i.test(problem.message) ? (unclosedQuoteOffset(text) ?? problem.pos[0]) : problem.pos[0];
        return diagnosticAtOffset(source, offset, problem.code, firstLine(problem.message), yamlHint(problem.code, problem.message));
      }),
    );
  }
  if (docs.length > 1) {
    const second = docs[1]!;
    throw new DefinitionError([
      diagnosticAtOffset(source, second.range[0], 'MULTIPLE_DOCUMENTS', 'the file holds more than one YAML document', 'put one definition per file; use --file to choose it'),
    ]);
  }
  const structural = findStructuralProblems(source);
  if (structural.length > 0) throw new DefinitionError(structural);

  const expansion = measureExpansion(first);
  if (expansion.aliases > MAX_ALIAS_COUNT || expansion.nodes > MAX_EXPANDED_NODES) {
    const what = expansion.aliases > MAX_ALIAS_COUNT ? `${expansion.aliases} aliases` : `more than ${MAX_EXPANDED_NODES} values through its aliases`;
    throw new DefinitionError([
      diagnosticAtOffset(source, firstAliasOffset(first) ?? 0, 'ALIAS_LIMIT', `too many alias expansions: the definition has ${what}`, `envctl expands at most ${MAX_EXPANDED_NODES} values and ${MAX_ALIAS_COUNT} aliases per file`),
    ]);
  }
  let value: unknown;
  try {
    // Bounded just above; the package's own alias heuristic would refuse real Compose files.
    value = first.toJS({ maxAliasCount: -1 });
  } catch (error) {
    if (/alias/i.test(messageOf(error))) {
      throw new DefinitionError([
        diagnosticAtOffset(source, firstAliasOffset(first) ?? 0, 'ALIAS_LIMIT', `too many alias expansions: ${messageOf(error)}`, `envctl expands at most ${MAX_ALIAS_COUNT} aliases per file`),
      ]);
    }
    throw new DefinitionError([fileDiagnostic(display, 'YAML_ERROR', `cannot load YAML: ${messageOf(error)}`)]);
  }
  if (value === null || value === undefined) {
    throw new DefinitionError([fileDiagnostic(display, 'EMPTY_DEFINITION', 'the definition is empty', 'start with `services:`')]);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DefinitionError([
      diagnosticAtOffset(source, first.contents?.range?.[0] ?? 0, 'NOT_A_MAPPING', 'the definition must be a mapping with `services:` at its top', undefined),
    ]);
  }
  return { source, value: value as Record<string, unknown> };
}

/** A `<<` merge key (plain, unquoted), as the parser marks it with `merge: true`. */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<')) && (!key.type || key.type === 'PLAIN');
}

/** What a merge key may take: a mapping or an alias of one, or a list of those. */
function mergeSourcesOk(source: SourceFile, value: unknown): boolean {
  const isMapSource = (node: unknown) => isMap(isAlias(node) ? node.resolve(source.doc) : node);
  return isSeq(value) ? value.items.every(isMapSource) : isMapSource(value);
}

/** Merge sources that are not mappings, prototype-reaching keys and complex keys, refused before any value is built. */
function findStructuralProblems(source: SourceFile): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64) {
      problems.push(diagnosticAtOffset(source, isNode(node) ? (node.range?.[0] ?? 0) : 0, 'TOO_DEEP', 'the definition nests deeper than 64 levels', undefined));
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : undefined;
        const offset = isNode(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
        if (isMergeKey(pair.key)) {
          if (!mergeSourcesOk(source, pair.value)) {
            problems.push(
              diagnosticAtOffset(source, isNode(pair.value) ? (pair.value.range?.[0] ?? offset) : offset, 'MERGE_SOURCE', 'a merge key (`<<`) takes a mapping, an alias of one (`*base`) or a list of those', 'e.g. `<<: *defaults` where `defaults` is an anchored mapping'),
            );
          }
        } else if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
          problems.push(diagnosticAtOffset(source, offset, 'FORBIDDEN_KEY', `the key \`${key}\` is not allowed`, undefined));
        } else if (pair.key !== null && !isScalar(pair.key)) {
          problems.push(diagnosticAtOffset(source, offset, 'COMPLEX_KEY', 'mapping keys must be plain strings', undefined));
        }
        visit(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item, depth + 1);
    }
  };
  visit(source.doc.contents, 0);
  return problems;
}

/**
 * How many values the document expands to, and how many aliases it writes, without expanding it:
 * each node's size is counted once (memoised) and an alias counts the size of its anchor. Stops
 * counting past the limit, so a bomb costs no more than a normal file.
 */
export function measureExpansion(doc: Document.Parsed): { nodes: number; aliases: number } {
  const sizes = new Map<unknown, number>();
  let aliases = 0;
  const size = (node: unknown, depth: number): number => {
    if (node === null || node === undefined) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (depth > 256) return MAX_EXPANDED_NODES + 1;
    let total = 1;
    if (isAlias(node)) {
      aliases += 1;
      const target = node.resolve(doc);
      // An alias inside its own anchor would never end.
      total = target === undefined || sizes.get(target) === -1 ? MAX_EXPANDED_NODES + 1 : size(target, depth + 1);
    } else if (isMap(node)) {
      sizes.set(node, -1);
      for (const pair of node.items) {
        total += size(pair.key, depth + 1) + size(pair.value, depth + 1);
        if (total > MAX_EXPANDED_NODES) break;
      }
    } else if (isSeq(node)) {
      sizes.set(node, -1);
      for (const item of node.items) {
        total += size(item, depth + 1);
        if (total > MAX_EXPANDED_NODES) break;
      }
    }
    total = Math.min(total, MAX_EXPANDED_NODES + 1);
    sizes.set(node, total);
    return total;
  };
  const nodes = size(doc.contents, 0);
  return { nodes, aliases };
}

function firstAliasOffset(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** Where an unterminated quoted string starts: the parser reports the end of the file instead. */
export function unclosedQuoteOffset(text: string): number | undefined {
  let quote: '"' | "'" | undefined;
  let start = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quote === undefined) {
      if (ch === '#' && (lineStart || /\s/.test(text[i - 1] ?? ' '))) {
        while (i < text.length && text[i] !== '\n') i += 1;
        lineStart = true;
        continue;
      }
      if ((ch === '"' || ch === "'") && /[\s:,[{-]/.test(text[i - 1] ?? ' ')) {
        quote = ch;
        start = i;
      }
    } else if (quote === '"' && ch === '\\') {
      i += 1;
    } else if (ch === quote) {
      if (quote === "'" && text[i + 1] === "'") i += 1;
      else quote = undefined;
    }
    lineStart = ch === '\n';
  }
  return quote === undefined ? undefined : start;
}

/**
 * The node written at `path`, or the deepest ancestor that exists. With `key: true` the location
 * of the mapping key itself (for "unknown key" errors) rather than its value.
 */
export function locate(source: SourceFile, path: readonly PathSegment[], options: { key?: boolean } = {}): { offset: number; depth: number } {
  let node: unknown = source.doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  let depth = 0;
  for (const [index, segment] of path.entries()) {
    const isLast = index === path.length - 1;
    // Below an alias, the value was written at its anchor.
    if (isAlias(node)) node = node.resolve(source.doc);
    if (isMap(node)) {
      const pair = findPair(source, node, String(segment));
      if (!pair) break;
      const keyNode = pair.key as Node;
      const target = isLast && options.key ? keyNode : ((pair.value as Node | null) ?? keyNode);
      offset = target.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else if (isSeq(node)) {
      // A name in a list form normalised to a map (`depends_on: [db]`, `networks: [front]`).
      const item = node.items.find((entry) => isScalar(entry) && String(entry.value) === String(segment));
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
    depth = index + 1;
  }
  return { offset, depth };
}

/** The pair for `key` in a mapping, or in what its merge keys bring in (where the value was written). */
function findPair(source: SourceFile, map: unknown, key: string, depth = 0): Pair | undefined {
  const node = isAlias(map) ? map.resolve(source.doc) : map;
  if (!isMap(node) || depth > 16) return undefined;
  const own = node.items.find((item) => isPair(item) && isScalar(item.key) && !isMergeKey(item.key) && String(item.key.value) === key);
  if (own) return own as Pair;
  for (const item of node.items) {
    if (!isPair(item) || !isMergeKey(item.key)) continue;
    const sources = isSeq(item.value) ? item.value.items : [item.value];
    for (const merged of sources) {
      const found = findPair(source, merged, key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function diagnosticAtOffset(source: SourceFile, offset: number, code: string, message: string, hint: string | undefined, path = ''): Diagnostic {
  const { line, col } = source.lines.linePos(offset);
  return {
    code,
    message,
    file: source.display,
    line,
    col,
    path,
    ...(hint ? { hint } : {}),
    excerpt: excerptAt(source.text, line, col),
  };
}

export function fileDiagnostic(file: string, code: string, message: string, hint?: string): Diagnostic {
  return { code, message, file, line: 1, col: 1, path: '', ...(hint ? { hint } : {}) };
}

function excerptAt(text: string, line: number, col: number): string {
  const sourceLine = (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
  const shown = sourceLine.length > 160 ? `${sourceLine.slice(0, 160)}…` : sourceLine;
  return `${String(line).padStart(4)} | ${shown}\n     | ${' '.repeat(Math.max(0, Math.min(col - 1, 160)))}^`;
}

function yamlHint(code: string, message: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping; remove or merge the repeated one';
    case 'TAB_AS_INDENT':
      return 'YAML indentation must use spaces, not tabs';
    case 'TAG_RESOLVE_FAILED':
      return 'custom YAML tags are not supported; write a plain value';
    case 'MISSING_CHAR':
      return /quot/i.test(message) ? 'close the quoted string' : undefined;
    default:
      return undefined;
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
