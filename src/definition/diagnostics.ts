/**
 * Turning zod issues into diagnostics a person can act on: located at `file:line:col`, with the
 * offending text and a hint ("did you mean `healthcheck`?", "not supported yet").
 */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import type { Diagnostic } from '../errors.js';
import { COMPOSE_BUILD_KEYS, COMPOSE_NETWORK_ATTACH_KEYS, COMPOSE_SERVICE_KEYS, COMPOSE_TOP_LEVEL_KEYS, PATTERN_HINTS } from './schema.js';
import { COMPOSE_BIND_OPTION_KEYS, COMPOSE_MOUNT_KEYS, COMPOSE_NETWORK_DEFINITION_KEYS, COMPOSE_VOLUME_OPTION_KEYS } from './compose-keys.js';
import { diagnosticAtOffset, locate, type PathSegment, type SourceFile } from './yaml-source.js';
import { PRIVILEGED_KEYS, privilegedKeyMessage } from './privileged.js';

/** Finds where a path of the resolved definition was written (the overlay wins where it set the value). */
export type Locator = (path: readonly PathSegment[], options?: { key?: boolean }) => { source: SourceFile; offset: number };

export function fileLocator(source: SourceFile, overlayPrefix?: readonly PathSegment[], overrides: readonly SourceFile[] = []): Locator {
  return (path, options = {}) => {
    // With `-f a -f b`, a value is where the last file that wrote it (deepest) has it.
    for (const override of [...overrides].reverse()) {
      const found = locate(override, path, options);
      if (path.length > 0 && found.depth === path.length) return { source: override, offset: found.offset };
    }
    const base = locate(source, path, options);
    if (!overlayPrefix) return { source, offset: base.offset };
    const overlay = locate(source, [...overlayPrefix, ...path], options);
    const overlayDepth = overlay.depth - overlayPrefix.length;
    return { source, offset: overlayDepth >= base.depth && overlayDepth > 0 ? overlay.offset : base.offset };
  };
}

export function diagnosticAt(locator: Locator, path: readonly PathSegment[], code: string, message: string, hint?: string, options: { key?: boolean } = {}): Diagnostic {
  const { source, offset } = locator(path, options);
  return diagnosticAtOffset(source, offset, code, message, hint, formatPath(path));
}

export function formatPath(path: readonly PathSegment[]): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates as string[]);
  const limit = Math.max(2, Math.floor(word.length / 3));
  return distance(word, best) <= limit ? best : undefined;
}

const UNSUPPORTED_BY_CONTEXT: Array<{ test: (path: readonly PathSegment[]) => boolean; keys: readonly string[] }> = [
  { test: (path) => path.length === 0, keys: COMPOSE_TOP_LEVEL_KEYS },
  { test: (path) => path.length === 2 && path[0] === 'services', keys: COMPOSE_SERVICE_KEYS },
  { test: (path) => path.length === 3 && path[0] === 'services' && path[2] === 'build', keys: COMPOSE_BUILD_KEYS },
  { test: (path) => path.length === 4 && path[0] === 'services' && path[2] === 'networks', keys: COMPOSE_NETWORK_ATTACH_KEYS },
  { test: (path) => path.length === 2 && path[0] === 'networks', keys: COMPOSE_NETWORK_DEFINITION_KEYS },
  { test: (path) => path.length === 4 && path[0] === 'services' && path[2] === 'volumes', keys: COMPOSE_MOUNT_KEYS },
  { test: (path) => path.length === 5 && path[0] === 'services' && path[2] === 'volumes' && path[4] === 'bind', keys: COMPOSE_BIND_OPTION_KEYS },
  { test: (path) => path.length === 5 && path[0] === 'services' && path[2] === 'volumes' && path[4] === 'volume', keys: COMPOSE_VOLUME_OPTION_KEYS },
];

function unsupportedKeys(path: readonly PathSegment[]): readonly string[] {
  return UNSUPPORTED_BY_CONTEXT.find((entry) => entry.test(path))?.keys ?? [];
}

type Issue = z.core.$ZodIssue;

/** Converts zod issues to diagnostics. `rootSchema` is walked to suggest the keys valid at a location. */
export function issuesToDiagnostics(issues: readonly Issue[], locator: Locator, rootSchema: z.ZodType, input: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const push = (diagnostic: Diagnostic) => {
    const id = `${diagnostic.line}:${diagnostic.col}:${diagnostic.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(diagnostic);
    }
  };
  for (const issue of flattenUnions(issues, input)) {
    const path = issue.path as PathSegment[];
    if (issue.code === 'unrecognized_keys') {
      const allowed = objectKeysAt(rootSchema, path);
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        if (unsupportedKeys(path).includes(key)) {
          if (PRIVILEGED_KEYS.includes(key)) push(diagnosticAt(locator, keyPath, 'UNSUPPORTED_KEY', privilegedKeyMessage(key), 'remove it', { key: true }));
          else push(diagnosticAt(locator, keyPath, 'UNSUPPORTED_KEY', `\`${key}\` is not supported by envctl yet`, 'remove it for now; the README lists the supported Compose keys', { key: true }));
        } else {
          const suggestion = didYouMean(key, allowed);
          const hint = suggestion ? `did you mean \`${suggestion}\`?` : allowed.length > 0 ? `allowed here: ${allowed.join(', ')}` : undefined;
          push(diagnosticAt(locator, keyPath, 'UNKNOWN_KEY', `unknown key \`${key}\``, hint, { key: true }));
        }
      }
      continue;
    }
    const value = valueAt(input, path);
    const hint = (issue as { params?: { hint?: string } }).params?.hint;
    push(diagnosticAt(locator, path, codeFor(issue), messageFor(issue, value, path), hint ?? hintFor(issue, value)));
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** A union's failure is reported as the failure of the branch that got furthest, not as all of them. */
function flattenUnions(issues: readonly Issue[], input: unknown): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push(issue);
      continue;
    }
    const base = issue.path;
    const rootTypeMisses = (branch: readonly Issue[]) => branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 0).length;
    const ranked = [...issue.errors].sort((a, b) => rootTypeMisses(a) - rootTypeMisses(b) || maxDepth(b) - maxDepth(a));
    const best = ranked[0]!;
    if (rootTypeMisses(best) > 0) {
      const expected = [...new Set(issue.errors.flatMap((branch) => branch.filter((inner) => inner.code === 'invalid_type').map((inner) => (inner as { expected: string }).expected)))];
      out.push({
        code: 'invalid_type',
        expected: expected.join('|'),
        path: base,
        message: '',
        input: valueAt(input, base as PathSegment[]),
      } as unknown as Issue);
      continue;
    }
    out.push(...flattenUnions(best.map((inner) => ({ ...inner, path: [...base, ...inner.path] }) as Issue), input));
  }
  return out;
}

function maxDepth(branch: readonly Issue[]): number {
  return Math.max(0, ...branch.map((inner) => inner.path.length));
}

function codeFor(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return 'WRONG_TYPE';
    case 'invalid_value':
      return 'INVALID_VALUE';
    case 'too_small':
    case 'too_big':
      return 'OUT_OF_RANGE';
    default:
      return 'INVALID_VALUE';
  }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  null: 'an empty value',
  never: 'nothing',
};

/** zod's own wording; anything else was written for envctl's schema and is shown as it is. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized|Expected)/;

function messageFor(issue: Issue, value: unknown, path: readonly PathSegment[]): string {
  const where = path.length > 0 ? `\`${formatPath(path)}\`` : 'the definition';
  if (issue.message && !ZOD_DEFAULT_MESSAGE.test(issue.message) && issue.code !== 'invalid_type') return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) return `${where} is required`;
      const expected = String((issue as { expected: string }).expected)
        .split('|')
        .map((type) => TYPE_WORDS[type] ?? type);
      return `${where} must be ${[...new Set(expected)].join(' or ')}, not ${describeValue(value)}`;
    }
    case 'invalid_value': {
      const values = (issue as { values: unknown[] }).values.map((option) => String(option));
      return `invalid value ${JSON.stringify(value)} for ${where}: use ${values.join(', ')}`;
    }
    case 'too_small': {
      const small = issue as { minimum: number | bigint; origin: string; inclusive?: boolean };
      if (small.origin === 'array') return `${where} needs at least ${small.minimum} item(s)`;
      if (small.origin === 'string') return `${where} must not be empty`;
      return `${where} must be ${small.inclusive === false ? 'above' : 'at least'} ${small.minimum}, not ${JSON.stringify(value)}`;
    }
    case 'too_big': {
      const big = issue as { maximum: number | bigint; origin: string; inclusive?: boolean };
      if (big.origin === 'array') return `${where} has more than ${big.maximum} item(s)`;
      return `${where} must be ${big.inclusive === false ? 'below' : 'at most'} ${big.maximum}, not ${JSON.stringify(value)}`;
    }
    default:
      return issue.message ? issue.message : `invalid value for ${where}`;
  }
}

function hintFor(issue: Issue, value: unknown): string | undefined {
  if (issue.code === 'invalid_format' && issue.format === 'regex') {
    const pattern = (issue as { pattern?: string }).pattern;
    return pattern === undefined ? undefined : PATTERN_HINTS[pattern];
  }
  if (issue.code === 'invalid_value' && typeof value === 'string') {
    const suggestion = didYouMean(value, (issue as { values: unknown[] }).values.map((option) => String(option)));
    return suggestion ? `did you mean \`${suggestion}\`?` : undefined;
  }
  return undefined;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
}

/** The keys an object schema accepts at `path` (through optionals, defaults, pipes, unions, records). */
export function objectKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  const walk = (node: z.ZodType | undefined, rest: readonly PathSegment[], budget: number): void => {
    if (!node || budget <= 0) return;
    const def = (node as unknown as { _zod: { def: SchemaDef } })._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        return walk(def.innerType, rest, budget - 1);
      case 'pipe':
        return walk(def.in, rest, budget - 1);
      case 'lazy':
        return walk(def.getter?.(), rest, budget - 1);
      case 'union':
        for (const option of def.options ?? []) walk(option, rest, budget - 1);
        return;
      case 'object':
        if (rest.length === 0) {
          for (const key of Object.keys(def.shape ?? {})) keys.add(key);
          return;
        }
        return walk(def.shape?.[String(rest[0])], rest.slice(1), budget - 1);
      case 'record':
        return rest.length === 0 ? undefined : walk(def.valueType, rest.slice(1), budget - 1);
      case 'array':
        return rest.length === 0 ? undefined : walk(def.element, rest.slice(1), budget - 1);
      default:
        return;
    }
  };
  walk(schema, path, 64);
  return [...keys].sort();
}
