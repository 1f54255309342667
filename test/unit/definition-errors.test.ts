/**
 * Bad definitions (reliability.md §2 rows 1-10): every case is one fixture under
 * test/fixtures/invalid/ and must fail with exit code 2 and a diagnostic located where a person
 * would look: the key or the value at fault.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, validateAllEnvironments } from '../../src/definition/resolve.js';
import { MAX_DEFINITION_BYTES } from '../../src/definition/yaml-source.js';
import { DefinitionError, UsageError, type Diagnostic } from '../../src/errors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/invalid/', import.meta.url));

/** Runs `load` and returns what it threw; fails the test if it did not throw. */
async function thrownBy(load: () => Promise<unknown>): Promise<unknown> {
  try {
    await load();
  } catch (error) {
    return error;
  }
  expect.fail('expected the definition to be rejected, but it loaded');
}

async function definitionErrorFrom(load: () => Promise<unknown>): Promise<DefinitionError> {
  const error = await thrownBy(load);
  expect(error).toBeInstanceOf(DefinitionError);
  return error as DefinitionError;
}

function fixtureLine(fixture: string, line: number): string {
  return readFileSync(join(FIXTURES, fixture), 'utf8').split('\n')[line - 1] ?? '';
}

interface ErrorCase {
  /** Fixture file name under test/fixtures/invalid/ (and the test title). */
  fixture: string;
  code: string;
  /**
   * Where the first diagnostic must point: `[line, col]` (1-based), `'file'` for file-level
   * problems (1:1), or `'alias'` (any alias reference, i.e. a `*` in the fixture).
   */
  at: readonly [number, number] | 'file' | 'alias';
  /** A substring of (or a pattern for) the first diagnostic's message. */
  message: string | RegExp;
  /** A substring of the hint, when the code gives one. */
  hint?: string;
  /** `all` runs validateAllEnvironments (base and every overlay) instead of loadDefinition. */
  load?: 'base' | 'all';
}

const cases: ErrorCase[] = [
  // Malformed YAML (row 1).
  { fixture: 'unclosed-quote.yaml', code: 'MISSING_CHAR', at: [3, 12], message: 'Missing closing "quote', hint: 'close the quoted string' },
  { fixture: 'tab-indent.yaml', code: 'TAB_AS_INDENT', at: [3, 1], message: 'Tabs are not allowed', hint: 'spaces, not tabs' },
  { fixture: 'empty.yaml', code: 'EMPTY_DEFINITION', at: 'file', message: 'the definition is empty', hint: 'start with `services:`' },
  { fixture: 'comment-only.yaml', code: 'EMPTY_DEFINITION', at: 'file', message: 'the definition is empty', hint: 'start with `services:`' },
  // Alias bomb (rows 2-3): rejected by the alias limit, not expanded.
  { fixture: 'billion-laughs.yaml', code: 'ALIAS_LIMIT', at: 'alias', message: 'too many alias expansions: the definition has more than 200000 values', hint: 'at most 200000 values' },
  // Duplicate keys (row 4): never last-wins; points at the repeated key.
  { fixture: 'duplicate-key.yaml', code: 'DUPLICATE_KEY', at: [4, 5], message: 'Map keys must be unique', hint: 'each key may appear once' },
  // Unknown, misspelled and unsupported keys (row 5): point at the key.
  { fixture: 'unknown-key-healtcheck.yaml', code: 'UNKNOWN_KEY', at: [4, 5], message: 'unknown key `healtcheck`', hint: 'did you mean `healthcheck`' },
  { fixture: 'unknown-key-dependson.yaml', code: 'UNKNOWN_KEY', at: [4, 5], message: 'unknown key `dependson`', hint: 'did you mean `depends_on`' },
  { fixture: 'unsupported-sysctls.yaml', code: 'UNSUPPORTED_KEY', at: [4, 5], message: '`sysctls` is not supported', hint: 'README lists the supported Compose keys' },
  { fixture: 'unsupported-privileged.yaml', code: 'PRIVILEGED_SETTING', at: [4, 5], message: '`privileged: true` gives the container every capability', hint: 'envctl runs services unprivileged' },
  { fixture: 'top-level-unknown.yaml', code: 'UNKNOWN_KEY', at: [4, 1], message: 'unknown key `servces`', hint: 'did you mean `services`' },
  // Wrong types (row 6): point at the value.
  { fixture: 'port-abc.yaml', code: 'INVALID_VALUE', at: [5, 9], message: 'invalid container port "abc"', hint: 'whole numbers from 1 to 65535' },
  { fixture: 'port-negative.yaml', code: 'INVALID_VALUE', at: [5, 9], message: 'invalid container port "-1"', hint: 'whole numbers from 1 to 65535' },
  { fixture: 'port-too-big.yaml', code: 'INVALID_VALUE', at: [5, 9], message: 'invalid host port "70000"', hint: 'whole numbers from 1 to 65535' },
  { fixture: 'retries-negative.yaml', code: 'OUT_OF_RANGE', at: [6, 16], message: '`services.web.healthcheck.retries` must be at least 0, not -3' },
  { fixture: 'duration-words.yaml', code: 'INVALID_VALUE', at: [6, 17], message: 'invalid duration "5 minutes"', hint: 'write a number with a unit' },
  { fixture: 'environment-number.yaml', code: 'WRONG_TYPE', at: [4, 18], message: '`services.web.environment` must be a mapping or a list, not number 5' },
  // Prototype keys, merge keys, tags, multi-document streams (row 7).
  { fixture: 'proto-key.yaml', code: 'FORBIDDEN_KEY', at: [5, 7], message: 'the key `__proto__` is not allowed' },
  // Merge keys are expanded like Compose (compose-corpus.test.ts); one whose value is not a mapping is refused at the value.
  { fixture: 'merge-key-scalar.yaml', code: 'MERGE_SOURCE', at: [4, 9], message: 'a merge key (`<<`) takes a mapping', hint: '`<<: *defaults`' },
  { fixture: 'tag-js-function.yaml', code: 'TAG_RESOLVE_FAILED', at: [4, 14], message: 'Unresolved tag: tag:yaml.org,2002:js/function', hint: 'custom YAML tags are not supported' },
  { fixture: 'tag-custom.yaml', code: 'TAG_RESOLVE_FAILED', at: [3, 12], message: 'Unresolved tag: !foo', hint: 'custom YAML tags are not supported' },
  { fixture: 'multi-document.yaml', code: 'MULTIPLE_DOCUMENTS', at: [4, 1], message: 'more than one YAML document', hint: 'one definition per file' },
  // Dependencies (rows 8-9): the whole cycle is named (any rotation).
  { fixture: 'dependency-cycle.yaml', code: 'DEPENDENCY_CYCLE', at: [4, 18], message: /dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)$/, hint: 'remove one of these depends_on entries' },
  { fixture: 'unknown-dependency-close.yaml', code: 'UNKNOWN_DEPENDENCY', at: [4, 22], message: 'depends on "dbb", which is not defined', hint: 'did you mean "db"?' },
  { fixture: 'unknown-dependency-far.yaml', code: 'UNKNOWN_DEPENDENCY', at: [5, 7], message: 'depends on "redis", which is not defined', hint: 'defined services: web, db' },
  { fixture: 'healthy-without-healthcheck.yaml', code: 'NO_HEALTHCHECK', at: [5, 7], message: '"db" has no healthcheck', hint: 'add a healthcheck to "db"' },
  // Names that exist on Object.prototype are still just undeclared names.
  { fixture: 'depends-on-prototype-name.yaml', code: 'UNKNOWN_DEPENDENCY', at: [5, 7], message: 'depends on "constructor", which is not defined' },
  { fixture: 'volume-prototype-name.yaml', code: 'UNKNOWN_VOLUME', at: [5, 9], message: 'uses the volume "toString", which is not declared' },
  { fixture: 'network-prototype-name.yaml', code: 'UNKNOWN_NETWORK', at: [5, 7], message: 'joins the network "hasOwnProperty", which is not declared' },
  // Host-port clash (row 10): reported at the second publisher.
  { fixture: 'port-clash.yaml', code: 'PORT_CLASH', at: [8, 9], message: 'host port 127.0.0.1:8080/tcp is published by both "web" and "admin"', hint: 'its own host port' },
  // Healthcheck semantics (§1 row 10).
  { fixture: 'start-interval-without-period.yaml', code: 'INVALID_VALUE', at: [6, 23], message: 'start_interval only applies during start_period', hint: 'add start_period' },
  // Other references and formats.
  { fixture: 'no-image.yaml', code: 'NO_IMAGE', at: [4, 3], message: 'service "worker" has neither an image nor a build', hint: 'add `image: NAME:TAG`' },
  { fixture: 'undeclared-volume.yaml', code: 'UNKNOWN_VOLUME', at: [5, 9], message: 'uses the volume "dbdata", which is not declared', hint: 'did you mean "db-data"?' },
  { fixture: 'undeclared-network.yaml', code: 'UNKNOWN_NETWORK', at: [6, 9], message: 'joins the network "backend", which is not declared', hint: 'declare it under the top-level `networks:`' },
  { fixture: 'restart-invalid.yaml', code: 'INVALID_VALUE', at: [4, 14], message: 'invalid restart policy "sometimes"', hint: 'on-failure' },
  { fixture: 'project-name-invalid.yaml', code: 'INVALID_VALUE', at: [1, 7], message: 'invalid project name "My_Shop"', hint: 'lowercase letters' },
  { fixture: 'interpolation-required.yaml', code: 'INTERPOLATION', at: [3, 12], message: 'required variable NGINX_TAG is not set: set NGINX_TAG to the image tag', hint: 'set NGINX_TAG' },
  // An error that exists only in an overlay is reported at the overlay's line.
  { fixture: 'overlay-ci-error.yaml', load: 'all', code: 'INVALID_VALUE', at: [9, 17], message: 'invalid host port "99999" (environment ci)', hint: 'whole numbers from 1 to 65535' },
  // Canary release steps.
  { fixture: 'release-steps-decreasing.yaml', code: 'INVALID_VALUE', at: [7, 21], message: 'step weights must increase: 20% follows 30%' },
  { fixture: 'release-steps-fresh-over-50.yaml', code: 'INVALID_VALUE', at: [7, 21], message: 'a step of 75% is impossible with a fresh baseline', hint: 'promotion follows the last step' },
  { fixture: 'release-steps-zero.yaml', code: 'OUT_OF_RANGE', at: [7, 13], message: '`pipeline.release.steps[0]` must be above 0' },
];

describe('invalid definitions', () => {
  it.each(cases)('$fixture → $code', async ({ fixture, code, at, message, hint, load = 'base' }) => {
    const options = { cwd: FIXTURES, file: fixture, processEnv: {} };
    const error = await definitionErrorFrom(() => (load === 'all' ? validateAllEnvironments(options) : loadDefinition(options)));
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe(code);

    const first = error.diagnostics[0] as Diagnostic;
    expect(first.code).toBe(code);
    expect(first.file).toBe(fixture);
    expect(first.message).toMatch(message);
    if (hint !== undefined) expect(first.hint).toContain(hint);

    if (at === 'file') {
      expect([first.line, first.col]).toEqual([1, 1]);
    } else if (at === 'alias') {
      expect(fixtureLine(fixture, first.line)[first.col - 1]).toBe('*');
    } else {
      expect([first.line, first.col]).toEqual(at);
    }
    if (at !== 'file') {
      // The excerpt shows the offending source line.
      expect(first.excerpt).toContain(fixtureLine(fixture, first.line).replace(/\t/g, ' '));
    }
    // The one-line summary carries file:line:col.
    expect(error.message.startsWith(`${fixture}:${first.line}:${first.col} `)).toBe(true);
  });
});

describe('unknown --env', () => {
  it('throws a UsageError (exit 2) with a did-you-mean hint', async () => {
    const error = await thrownBy(() => loadDefinition({ cwd: FIXTURES, file: 'unknown-environment.yaml', env: 'stagin', processEnv: {} }));
    expect(error).toBeInstanceOf(UsageError);
    const usage = error as UsageError;
    expect(usage.exitCode).toBe(2);
    expect(usage.code).toBe('UNKNOWN_ENVIRONMENT');
    expect(usage.message).toContain('no environment "stagin"');
    expect(usage.hint).toBe('did you mean --env staging?');
  });
});

describe('definitions generated at test time', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envctl-definition-errors-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const header = 'services:\n  web:\n    image: nginx:1.27\n';
  const paddingLine = `# ${'x'.repeat(97)}\n`; // 100 bytes

  it.each([
    { label: '50 MB', bytes: 50 * 1024 * 1024, shown: '50.0 MiB' },
    { label: 'one byte over the cap', bytes: MAX_DEFINITION_BYTES + 1, shown: '4.0 MiB' },
  ])('refuses a $label file before parsing it (FILE_TOO_LARGE)', async ({ bytes, shown }) => {
    const lines = Math.ceil((bytes - header.length) / paddingLine.length);
    const text = (header + paddingLine.repeat(lines)).slice(0, bytes);
    expect(Buffer.byteLength(text)).toBe(bytes);
    await writeFile(join(dir, 'envctl.yaml'), text);

    const error = await definitionErrorFrom(() => loadDefinition({ cwd: dir, processEnv: {} }));
    expect(error.exitCode).toBe(2);
    expect(error.diagnostics[0]).toMatchObject({ code: 'FILE_TOO_LARGE', file: 'envctl.yaml', line: 1, col: 1 });
    expect(error.diagnostics[0]?.message).toContain(`the definition is ${shown}; envctl reads at most 4 MiB`);
    expect(error.diagnostics[0]?.hint).toBeTruthy();
  });

  it.each([
    { label: 'balanced', text: `${header}    command: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n` },
    { label: 'unclosed', text: `${header}    command: ${'['.repeat(10_000)}\n` },
  ])('reports 10 000 levels of [ ($label) as a DefinitionError, not a RangeError', async ({ text }) => {
    await writeFile(join(dir, 'envctl.yaml'), text);
    const error = await thrownBy(() => loadDefinition({ cwd: dir, processEnv: {} }));
    expect(error).not.toBeInstanceOf(RangeError);
    expect(error).toBeInstanceOf(DefinitionError);
    const definitionError = error as DefinitionError;
    expect(definitionError.exitCode).toBe(2);
    expect(definitionError.diagnostics.length).toBeGreaterThan(0);
    expect(definitionError.diagnostics[0]?.file).toBe('envctl.yaml');
    expect(['TOO_DEEP', 'RESOURCE_EXHAUSTION']).toContain(definitionError.diagnostics[0]?.code);
  });

  it('refuses nesting deeper than 64 levels that the YAML parser accepts (TOO_DEEP)', async () => {
    await writeFile(join(dir, 'envctl.yaml'), `${header}    command: ${'['.repeat(100)}${']'.repeat(100)}\n`);
    const error = await definitionErrorFrom(() => loadDefinition({ cwd: dir, processEnv: {} }));
    expect(error.exitCode).toBe(2);
    expect(error.diagnostics[0]).toMatchObject({ code: 'TOO_DEEP', file: 'envctl.yaml', line: 4 });
    expect(error.diagnostics[0]?.message).toContain('deeper than 64 levels');
  });
});

describe('prototype pollution', () => {
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

  function expectPrototypeUntouched(): void {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect({}.constructor).toBe(Object);
  }

  it('refuses every `__proto__` key and leaves Object.prototype untouched', async () => {
    const error = await definitionErrorFrom(() => validateAllEnvironments({ cwd: FIXTURES, file: 'prototype-pollution.yaml', processEnv: {} }));
    expect(error.exitCode).toBe(2);
    expect(error.diagnostics.map(({ code, line, col }) => ({ code, line, col }))).toEqual([
      { code: 'FORBIDDEN_KEY', line: 11, col: 7 },
      { code: 'FORBIDDEN_KEY', line: 15, col: 5 },
      { code: 'FORBIDDEN_KEY', line: 18, col: 5 },
    ]);
    for (const diagnostic of error.diagnostics) expect(diagnostic.message).toContain('`__proto__` is not allowed');
    expectPrototypeUntouched();
  });

  it('treats `constructor` and `prototype` keys as plain data, in the base and in overlays', async () => {
    const options = { cwd: FIXTURES, file: 'constructor-keys.yaml', processEnv: {} };
    // The base is valid and keeps the names as own data.
    const model = await loadDefinition(options);
    expect(Object.keys(model.services)).toEqual(['constructor', 'web']);
    const constructorService = model.services['constructor' as string];
    expect(Object.hasOwn(model.services, 'constructor')).toBe(true);
    expect(constructorService?.environment).toMatchObject({ constructor: 'c', prototype: 'p' });
    expect(Object.hasOwn(model.services.web?.dependsOn ?? {}, 'constructor')).toBe(true);
    expect(model.services.web?.labels).toEqual({ constructor: 'l' });
    expect(Object.keys(model.volumes)).toEqual(['constructor']);
    expect(model.features).toEqual({ constructor: true });
    expectPrototypeUntouched();

    // The `ci` overlay nests constructor.prototype.polluted: rejected as an unknown key and a wrong type.
    const error = await definitionErrorFrom(() => validateAllEnvironments(options));
    expect(error.diagnostics).toHaveLength(2);
    expect(error.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'UNKNOWN_KEY', line: 18, col: 5, message: 'unknown key `constructor` (environment ci)' }),
        expect.objectContaining({ code: 'WRONG_TYPE', line: 25, col: 13, path: 'services.web.labels.constructor' }),
      ]),
    );
    expectPrototypeUntouched();
  });
});
