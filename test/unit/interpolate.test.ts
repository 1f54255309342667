/**
 * Compose-style interpolation (`interpolateString`): substitution, defaults, required variables,
 * escapes, and the guarantee that nothing is ever executed (reliability.md §2 row 38).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interpolateString, interpolateTree, InterpolationProblem, type Variables } from '../../src/definition/interpolate.js';
import type { PathSegment } from '../../src/definition/yaml-source.js';

/** A set, B set, EMPTY set to "", UNSET and NOPE not set. */
const vars: Variables = new Map([
  ['A', 'a'],
  ['B', 'b'],
  ['EMPTY', ''],
]);

describe('interpolateString: substitution', () => {
  it.each([
    // Plain references.
    { text: '$A', value: 'a', unset: [] },
    { text: '${A}', value: 'a', unset: [] },
    { text: 'x$A-y', value: 'xa-y', unset: [] },
    { text: '${A}x', value: 'ax', unset: [] },
    { text: 'x${A}${B}y', value: 'xaby', unset: [] },
    { text: '$Ax', value: '', unset: ['Ax'] },
    { text: 'no variables', value: 'no variables', unset: [] },
    { text: '{A}', value: '{A}', unset: [] },
    // ${VAR:-default}: default when unset or empty.
    { text: '${UNSET:-d}', value: 'd', unset: [] },
    { text: '${EMPTY:-d}', value: 'd', unset: [] },
    { text: '${A:-d}', value: 'a', unset: [] },
    { text: '${UNSET:-}', value: '', unset: [] },
    // ${VAR-default}: default only when unset.
    { text: '${UNSET-d}', value: 'd', unset: [] },
    { text: '${EMPTY-d}', value: '', unset: [] },
    { text: '${A-d}', value: 'a', unset: [] },
    // ${VAR:+replacement}: replacement when set and non-empty.
    { text: '${A:+r}', value: 'r', unset: [] },
    { text: '${EMPTY:+r}', value: '', unset: [] },
    { text: '${UNSET:+r}', value: '', unset: [] },
    // ${VAR+replacement}: replacement when set, even if empty.
    { text: '${A+r}', value: 'r', unset: [] },
    { text: '${EMPTY+r}', value: 'r', unset: [] },
    { text: '${UNSET+r}', value: '', unset: [] },
    // Required variables that are present.
    { text: '${A:?must be set}', value: 'a', unset: [] },
    { text: '${EMPTY?must be set}', value: '', unset: [] },
    // Nested defaults.
    { text: '${UNSET:-${B:-x}}', value: 'b', unset: [] },
    { text: '${UNSET:-${NOPE:-x}}', value: 'x', unset: [] },
    { text: '${UNSET:-$B}', value: 'b', unset: [] },
    { text: '${UNSET:-${EMPTY}}', value: '', unset: [] },
    { text: '${UNSET:-$NOPE}', value: '', unset: ['NOPE'] },
    // $$ escapes a literal $.
    { text: '$$', value: '$', unset: [] },
    { text: '$$A', value: '$A', unset: [] },
    { text: '$${A}', value: '${A}', unset: [] },
    { text: '${UNSET:-$$}', value: '$', unset: [] },
    // A lone $ stays literal.
    { text: '$', value: '$', unset: [] },
    { text: 'costs 5$', value: 'costs 5$', unset: [] },
    { text: '$ 5', value: '$ 5', unset: [] },
    { text: '$1', value: '$1', unset: [] },
    { text: '$-', value: '$-', unset: [] },
    // Command substitution is not a thing here: the text stays as written.
    { text: '$(touch /tmp/pwned)', value: '$(touch /tmp/pwned)', unset: [] },
    { text: 'echo $(id) `id`', value: 'echo $(id) `id`', unset: [] },
    // Unset variables without a default become "" and are listed, in order.
    { text: '$UNSET and ${ALSO}', value: ' and ', unset: ['UNSET', 'ALSO'] },
    { text: '$UNSET$UNSET', value: '', unset: ['UNSET', 'UNSET'] },
  ])('$text → "$value"', ({ text, value, unset }) => {
    expect(interpolateString(text, vars)).toEqual({ value, unset });
  });
});

describe('interpolateString: problems', () => {
  it.each([
    { text: '${UNSET:?set it please}', message: 'required variable UNSET is not set: set it please', hint: 'set UNSET' },
    { text: '${EMPTY:?set it please}', message: 'required variable EMPTY is empty: set it please', hint: 'set EMPTY' },
    { text: '${UNSET?set it please}', message: 'required variable UNSET is not set: set it please', hint: 'set UNSET' },
    { text: 'prefix ${UNSET:?}', message: 'required variable UNSET is not set', hint: 'set UNSET' },
    { text: '${UNSET:?${B} is missing}', message: 'required variable UNSET is not set: b is missing', hint: 'set UNSET' },
    { text: '${A', message: 'invalid interpolation: `${A` has no closing brace', hint: '$$ for a literal $' },
    { text: '${A:-${B}', message: 'invalid interpolation: `${A:-${B}` has no closing brace', hint: '$$ for a literal $' },
    { text: '${1A}', message: 'invalid interpolation: `${1A}`', hint: 'variable names use letters, digits and _' },
    { text: '${}', message: 'invalid interpolation: `${}`', hint: 'variable names use letters, digits and _' },
    { text: '${A:=x}', message: 'invalid interpolation: `${A:=x}`', hint: 'variable names use letters, digits and _' },
  ])('$text throws "$message"', ({ text, message, hint }) => {
    let thrown: unknown;
    try {
      interpolateString(text, vars);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InterpolationProblem);
    expect((thrown as InterpolationProblem).message).toBe(message);
    expect((thrown as InterpolationProblem).hint).toContain(hint);
  });
});

describe('nothing is executed', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envctl-interpolate-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves $(…) and backticks as text and never runs them', () => {
    const marker = join(dir, 'pwned');
    const inputs = [`$(touch ${marker})`, `\`touch ${marker}\``, `\${UNSET:-$(touch ${marker})}`, `\${A:+\`touch ${marker}\`}`];
    const values = inputs.map((text) => interpolateString(text, vars).value);
    expect(values).toEqual([`$(touch ${marker})`, `\`touch ${marker}\``, `$(touch ${marker})`, `\`touch ${marker}\``]);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync('/tmp/pwned')).toBe(false);
  });
});

describe('interpolateTree', () => {
  it('interpolates string values (not keys), reports problems and unset names with their path', () => {
    const problems: Array<{ path: PathSegment[]; message: string }> = [];
    const unset: Array<{ path: PathSegment[]; name: string }> = [];
    const tree = {
      $A: 'key stays',
      image: 'app:${A}',
      ports: ['${NOPE}', 8080],
      broken: '${UNSET:?needed}',
      nested: { flag: true, nothing: null },
    };
    const out = interpolateTree(
      tree,
      vars,
      (path, problem) => problems.push({ path, message: problem.message }),
      (path, name) => unset.push({ path, name }),
    );
    expect(out).toEqual({
      $A: 'key stays',
      image: 'app:a',
      ports: ['', 8080],
      broken: '${UNSET:?needed}',
      nested: { flag: true, nothing: null },
    });
    expect(problems).toEqual([{ path: ['broken'], message: 'required variable UNSET is not set: needed' }]);
    expect(unset).toEqual([{ path: ['ports', 0], name: 'NOPE' }]);
  });
});
