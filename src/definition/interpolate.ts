/**
 * Compose-style variable interpolation in string values. Pure: the variables are passed in.
 * Supported: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}`, `${VAR:+replacement}`, `${VAR+replacement}` (defaults may nest), and `$$`
 * for a literal `$`. Nothing is ever executed.
 */
import type { PathSegment } from './yaml-source.js';

export type Variables = ReadonlyMap<string, string>;

export class InterpolationProblem extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface InterpolationResult {
  value: string;
  /** Variables referenced without a default that were not set (Compose warns and uses ""). */
  unset: string[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function interpolateString(text: string, vars: Variables): InterpolationResult {
  const unset: string[] = [];
  const value = expand(text, vars, unset);
  return { value, unset };
}

function expand(text: string, vars: Variables, unset: string[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '$') {
      out += ch;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = findClosingBrace(text, i + 2);
      if (end < 0) throw new InterpolationProblem(`invalid interpolation: \`${text.slice(i)}\` has no closing brace`, 'write ${NAME} or use $$ for a literal $');
      out += expandBraced(text.slice(i + 2, end), vars, unset);
      i = end + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < text.length && NAME_CHAR.test(text[j]!)) j += 1;
      out += lookup(text.slice(i + 1, j), vars, unset);
      i = j;
    } else {
      // A lone `$` (end of string, before a space or digit) stays literal, as in Compose.
      out += '$';
      i += 1;
    }
  }
  return out;
}

function findClosingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth += 1;
      i += 1;
    } else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function expandBraced(inner: string, vars: Variables, unset: string[]): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(inner);
  if (!match) {
    throw new InterpolationProblem(`invalid interpolation: \`\${${inner}}\``, 'variable names use letters, digits and _, e.g. ${API_PORT:-8080}');
  }
  const [, name, operator, argument = ''] = match as unknown as [string, string, string | undefined, string | undefined];
  const value = vars.get(name!);
  const isSet = value !== undefined;
  const isNonEmpty = isSet && value !== '';
  switch (operator) {
    case undefined:
      return lookup(name!, vars, unset);
    case ':-':
      return isNonEmpty ? value : expand(argument, vars, unset);
    case '-':
      return isSet ? value : expand(argument, vars, unset);
    case ':?':
    case '?': {
      const ok = operator === ':?' ? isNonEmpty : isSet;
      if (ok) return value!;
      const message = expand(argument, vars, unset);
      throw new InterpolationProblem(
        `required variable ${name} is ${isSet ? 'empty' : 'not set'}${message ? `: ${message}` : ''}`,
        `set ${name} in the environment or in the .env file beside the definition`,
      );
    }
    case ':+':
      return isNonEmpty ? expand(argument, vars, unset) : '';
    case '+':
      return isSet ? expand(argument, vars, unset) : '';
    default:
      throw new InterpolationProblem(`invalid interpolation operator in \`\${${inner}}\``);
  }
}

function lookup(name: string, vars: Variables, unset: string[]): string {
  const value = vars.get(name);
  if (value === undefined) {
    unset.push(name);
    return '';
  }
  return value;
}

/**
 * Interpolates every string value (not keys) of a plain tree, returning a new tree. Problems are
 * reported with their path through `onProblem`; the offending value is left as written.
 */
export function interpolateTree(
  value: unknown,
  vars: Variables,
  onProblem: (path: PathSegment[], problem: InterpolationProblem) => void,
  onUnset: (path: PathSegment[], name: string) => void,
  path: PathSegment[] = [],
): unknown {
  if (typeof value === 'string') {
    try {
      const result = interpolateString(value, vars);
      for (const name of result.unset) onUnset(path, name);
      return result.value;
    } catch (error) {
      if (error instanceof InterpolationProblem) {
        onProblem(path, error);
        return value;
      }
      throw error;
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, vars, onProblem, onUnset, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolateTree(item, vars, onProblem, onUnset, [...path, key]);
    return out;
  }
  return value;
}
