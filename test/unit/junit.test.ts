/**
 * The JUnit report: read back with a real XML parser (fast-xml-parser) for counts, attributes and
 * structure, and validated by libxml2 (xmllint compiled to WebAssembly, so no system package is
 * needed) against the hand-written schema of the common JUnit shape in test/fixtures/junit/.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { MAX_OUTPUT_CHARS, renderJUnit, writeJUnitFile, type JUnitCase, type JUnitReport } from '../../src/pipeline/junit.js';

const XSD_PATH = new URL('../fixtures/junit/junit.xsd', import.meta.url);
let xsd: string;
beforeAll(async () => {
  xsd = await readFile(XSD_PATH, 'utf8');
});

async function schemaErrors(xml: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: xsd }] });
  return result.valid ? [] : result.errors.map((error) => error.message);
}

interface ParsedProblem {
  '#text': string;
  message?: string;
  type?: string;
}
interface ParsedCase {
  name: string;
  classname: string;
  time: string;
  failure?: ParsedProblem;
  error?: ParsedProblem;
  skipped?: { '#text': string; message?: string };
  'system-out'?: { '#text': string };
}
interface ParsedSuite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  time: string;
  timestamp?: string;
  testcase?: ParsedCase[];
}
interface ParsedReport {
  testsuites: { name: string; tests: string; failures: string; errors: string; skipped: string; time: string; timestamp?: string; testsuite?: ParsedSuite[] };
}

function parse(xml: string): ParsedReport {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    alwaysCreateTextNode: true,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  return parser.parse(xml) as ParsedReport;
}

function testCase(overrides: Partial<JUnitCase> & Pick<JUnitCase, 'name' | 'status'>): JUnitCase {
  return { classname: 'envctl.staging', durationMs: 10, ...overrides };
}

const SAMPLE: JUnitReport = {
  name: 'envctl pipeline shop/ci',
  timestamp: '2026-11-26T10:29:18.345Z',
  durationMs: 93_456,
  suites: [
    {
      name: 'build',
      durationMs: 12_000,
      cases: [testCase({ name: 'docker build web', classname: 'envctl.build', durationMs: 11_999.6, status: 'passed', output: 'Step 1/4 : FROM node\n' })],
    },
    {
      name: 'staging',
      durationMs: 4_321,
      timestamp: '2026-11-26T10:30:30.000+02:00',
      cases: [
        testCase({ name: 'port web:3000', status: 'passed', durationMs: 5 }),
        testCase({ name: 'http web:/healthz', status: 'failed', durationMs: 1_500, message: 'expected status 200, got 503\nbody: upstream not ready', output: 'GET /healthz -> 503' }),
        testCase({ name: 'certificate web:/tls/cert.pem', status: 'error', durationMs: 30_000, message: 'timed out after 30s' }),
        testCase({ name: 'env web:API_KEY', status: 'skipped', durationMs: 0, message: 'web did not start' }),
        testCase({ name: 'mount web:/data', status: 'skipped', durationMs: 0 }),
      ],
    },
    { name: 'perf', durationMs: 0, cases: [] },
  ],
};

describe('renderJUnit: counts, attributes and structure', () => {
  it('totals every suite into <testsuites> and counts each suite by status', () => {
    const { testsuites } = parse(renderJUnit(SAMPLE));
    expect(testsuites).toMatchObject({ name: 'envctl pipeline shop/ci', tests: '6', failures: '1', errors: '1', skipped: '2', time: '93.456', timestamp: '2026-11-26T10:29:18' });
    expect(testsuites.testsuite?.map((suite) => [suite.name, suite.tests, suite.failures, suite.errors, suite.skipped, suite.time])).toEqual([
      ['build', '1', '0', '0', '0', '12.000'],
      ['staging', '5', '1', '1', '2', '4.321'],
      ['perf', '0', '0', '0', '0', '0.000'],
    ]);
  });

  it('gives each suite its own timestamp in UTC, or the report\'s', () => {
    const suites = parse(renderJUnit(SAMPLE)).testsuites.testsuite ?? [];
    expect(suites.map((suite) => suite.timestamp)).toEqual(['2026-11-26T10:29:18', '2026-11-26T08:30:30', '2026-11-26T10:29:18']);
  });

  it('writes one <testcase> per case with name, classname and time in seconds (3 decimals)', () => {
    const cases = parse(renderJUnit(SAMPLE)).testsuites.testsuite?.flatMap((suite) => suite.testcase ?? []) ?? [];
    expect(cases.map((c) => [c.name, c.classname, c.time])).toEqual([
      ['docker build web', 'envctl.build', '12.000'],
      ['port web:3000', 'envctl.staging', '0.005'],
      ['http web:/healthz', 'envctl.staging', '1.500'],
      ['certificate web:/tls/cert.pem', 'envctl.staging', '30.000'],
      ['env web:API_KEY', 'envctl.staging', '0.000'],
      ['mount web:/data', 'envctl.staging', '0.000'],
    ]);
  });

  it('gives each status its child element: none, <failure>, <error>, <skipped>', () => {
    const [passed, failed, errored, skippedWithReason, skipped] = parse(renderJUnit(SAMPLE)).testsuites.testsuite?.[1]?.testcase ?? [];
    expect(passed).not.toHaveProperty('failure');
    expect(passed).not.toHaveProperty('error');
    expect(passed).not.toHaveProperty('skipped');
    expect(failed?.failure).toEqual({ '#text': 'expected status 200, got 503\nbody: upstream not ready', message: 'expected status 200, got 503', type: 'failure' });
    expect(failed?.['system-out']?.['#text']).toBe('GET /healthz -> 503');
    expect(failed).not.toHaveProperty('error');
    expect(errored?.error).toEqual({ '#text': 'timed out after 30s', message: 'timed out after 30s', type: 'error' });
    expect(errored).not.toHaveProperty('failure');
    expect(skippedWithReason?.skipped).toEqual({ '#text': '', message: 'web did not start' });
    expect(skipped?.skipped).toEqual({ '#text': '' });
  });

  it('names a failure without a message by its status', () => {
    const report: JUnitReport = { ...SAMPLE, suites: [{ name: 'perf', durationMs: 1, cases: [testCase({ name: 'p95 < 200ms', status: 'failed' }), testCase({ name: 'load', status: 'error' })] }] };
    const [failed, errored] = parse(renderJUnit(report)).testsuites.testsuite?.[0]?.testcase ?? [];
    expect(failed?.failure).toEqual({ '#text': '', message: 'failed', type: 'failure' });
    expect(errored?.error).toEqual({ '#text': '', message: 'error', type: 'error' });
  });

  it.each([
    { durationMs: 0, time: '0.000' },
    { durationMs: 1, time: '0.001' },
    { durationMs: 1_234, time: '1.234' },
    { durationMs: 61_000, time: '61.000' },
    { durationMs: 999.6, time: '1.000' },
    { durationMs: -5, time: '0.000' },
    { durationMs: Number.NaN, time: '0.000' },
  ])('writes $durationMs ms as time="$time"', ({ durationMs, time }) => {
    const report: JUnitReport = { name: 'r', timestamp: SAMPLE.timestamp, durationMs, suites: [{ name: 's', durationMs, cases: [testCase({ name: 'c', status: 'passed', durationMs })] }] };
    const { testsuites } = parse(renderJUnit(report));
    expect([testsuites.time, testsuites.testsuite?.[0]?.time, testsuites.testsuite?.[0]?.testcase?.[0]?.time]).toEqual([time, time, time]);
  });

  it('leaves out a timestamp that is not a date instead of writing it wrong', () => {
    const { testsuites } = parse(renderJUnit({ ...SAMPLE, timestamp: 'yesterday' }));
    expect(testsuites).not.toHaveProperty('timestamp');
    expect(testsuites.testsuite?.[0]).not.toHaveProperty('timestamp');
    expect(testsuites.testsuite?.[1]?.timestamp).toBe('2026-11-26T08:30:30');
  });

  it('keeps only the tail of very long output and says how much was left out', () => {
    const output = `${'a'.repeat(10)}${'b'.repeat(MAX_OUTPUT_CHARS)}`;
    const report: JUnitReport = { ...SAMPLE, suites: [{ name: 'build', durationMs: 1, cases: [testCase({ name: 'chatty', status: 'passed', output })] }] };
    const text = parse(renderJUnit(report)).testsuites.testsuite?.[0]?.testcase?.[0]?.['system-out']?.['#text'] ?? '';
    expect(text).toBe(`[… 10 earlier characters omitted]\n${'b'.repeat(MAX_OUTPUT_CHARS)}`);
  });
});

describe('renderJUnit: escaping of untrusted text', () => {
  const NASTY = `<script>alert("x" & 'y')</script>`;

  it('round-trips markup characters in every attribute and text node', () => {
    const report: JUnitReport = {
      name: NASTY,
      timestamp: SAMPLE.timestamp,
      durationMs: 1,
      suites: [{ name: NASTY, durationMs: 1, cases: [testCase({ name: NASTY, classname: NASTY, status: 'failed', message: NASTY, output: `${NASTY}]]>` })] }],
    };
    const xml = renderJUnit(report);
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('&lt;script&gt;');
    const { testsuites } = parse(xml);
    const suite = testsuites.testsuite?.[0];
    const only = suite?.testcase?.[0];
    expect([testsuites.name, suite?.name, only?.name, only?.classname, only?.failure?.message, only?.failure?.['#text']]).toEqual([NASTY, NASTY, NASTY, NASTY, NASTY, NASTY]);
    expect(only?.['system-out']?.['#text']).toBe(`${NASTY}]]>`);
  });

  it('strips terminal escape sequences from container output', () => {
    const report: JUnitReport = {
      ...SAMPLE,
      suites: [{ name: 'integration', durationMs: 1, cases: [testCase({ name: '\x1b[1mtests\x1b[0m', status: 'failed', message: '\x1b[31mFAIL\x1b[0m 2 tests', output: '\x1b[32m✓\x1b[39m ok\r\n\x1b]0;title\x07done' })] }],
    };
    const xml = renderJUnit(report);
    expect(xml).not.toContain('\x1b');
    expect(xml).not.toContain('[31m');
    const only = parse(xml).testsuites.testsuite?.[0]?.testcase?.[0];
    expect(only?.name).toBe('tests');
    expect(only?.failure?.message).toBe('FAIL 2 tests');
    expect(only?.['system-out']?.['#text']).toBe('✓ ok\ndone');
  });

  it.each([
    { what: 'NUL', raw: 'a\x00b' },
    { what: 'backspace', raw: 'a\x08b' },
    { what: 'vertical tab', raw: 'a\x0bb' },
    { what: 'a lone ESC (no sequence)', raw: 'a\x1bb' },
    { what: 'a lone surrogate', raw: 'a\ud800b' },
    { what: 'U+FFFE', raw: 'a\ufffeb' },
  ])('replaces $what, which XML 1.0 forbids, with U+FFFD', async ({ raw }) => {
    const report: JUnitReport = { ...SAMPLE, suites: [{ name: raw, durationMs: 1, cases: [testCase({ name: raw, status: 'failed', message: raw, output: raw })] }] };
    const xml = renderJUnit(report);
    expect(xml).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    const only = parse(xml).testsuites.testsuite?.[0]?.testcase?.[0];
    expect([only?.name, only?.failure?.message, only?.['system-out']?.['#text']]).toEqual(['a\ufffdb', 'a\ufffdb', 'a\ufffdb']);
    expect(await schemaErrors(xml)).toEqual([]);
  });

  it('keeps tabs, newlines and non-ASCII text as they are', () => {
    const text = 'naïve\tcafé ✓ 😀\nline 2';
    const report: JUnitReport = { ...SAMPLE, suites: [{ name: 's', durationMs: 1, cases: [testCase({ name: 'c', status: 'passed', output: text })] }] };
    expect(parse(renderJUnit(report)).testsuites.testsuite?.[0]?.testcase?.[0]?.['system-out']?.['#text']).toBe(text);
  });
});

describe('renderJUnit: the common JUnit XML schema', () => {
  it('validates the sample report (every status, an empty suite)', async () => {
    expect(await schemaErrors(renderJUnit(SAMPLE))).toEqual([]);
  });

  it('validates a report without suites', async () => {
    expect(await schemaErrors(renderJUnit({ name: 'nothing ran', timestamp: SAMPLE.timestamp, durationMs: 0, suites: [] }))).toEqual([]);
  });

  // The schema is a real check only if it rejects what CI systems would choke on.
  it.each([
    { what: 'a count that is not a number', reason: "'x' is not a valid value of the atomic type 'xs:nonNegativeInteger'", xml: '<testsuites tests="x" failures="0" errors="0" skipped="0" time="0.000"/>' },
    { what: 'a negative time', reason: 'less than the minimum value allowed', xml: '<testsuites tests="0" failures="0" errors="0" skipped="0" time="-1.000"/>' },
    { what: 'a missing tests count', reason: "The attribute 'tests' is required but missing", xml: '<testsuites failures="0" errors="0" skipped="0" time="0.000"/>' },
    { what: 'a timestamp with a zone designator', reason: 'is not accepted by the pattern', xml: '<testsuites tests="0" failures="0" errors="0" skipped="0" time="0.000" timestamp="2026-11-26T10:29:18.345Z"/>' },
    {
      what: 'a testcase directly under testsuites',
      reason: "Element 'testcase': This element is not expected",
      xml: '<testsuites tests="1" failures="0" errors="0" skipped="0" time="0.000"><testcase name="a" classname="b" time="0.000"/></testsuites>',
    },
    {
      what: 'a testcase without classname',
      reason: "The attribute 'classname' is required but missing",
      xml: '<testsuites tests="1" failures="0" errors="0" skipped="0" time="0.000"><testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="0.000"><testcase name="a" time="0.000"/></testsuite></testsuites>',
    },
    {
      what: 'a failure without type',
      reason: "The attribute 'type' is required but missing",
      xml: '<testsuites tests="1" failures="1" errors="0" skipped="0" time="0.000"><testsuite name="s" tests="1" failures="1" errors="0" skipped="0" time="0.000"><testcase name="a" classname="b" time="0.000"><failure message="m"/></testcase></testsuite></testsuites>',
    },
    {
      what: 'a raw ESC character',
      reason: 'invalid character in attribute value',
      xml: '<testsuites tests="0" failures="0" errors="0" skipped="0" time="0.000" name="\x1b[31m"/>',
    },
  ])('rejects $what', async ({ xml, reason }) => {
    const errors = await schemaErrors(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}\n`);
    expect(errors.join('\n')).toContain(reason);
  });
});

describe('writeJUnitFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envctl-junit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the rendered report, creating the folder, and leaves no temporary file', async () => {
    const path = join(dir, 'reports', 'ci', 'junit.xml');
    await writeJUnitFile(path, SAMPLE);
    expect(await readFile(path, 'utf8')).toBe(renderJUnit(SAMPLE));
    expect(await readdir(join(dir, 'reports', 'ci'))).toEqual(['junit.xml']);
  });

  it('replaces an existing report whole', async () => {
    const path = join(dir, 'junit.xml');
    await writeJUnitFile(path, SAMPLE);
    const smaller: JUnitReport = { ...SAMPLE, suites: [] };
    await writeJUnitFile(path, smaller);
    expect(await readFile(path, 'utf8')).toBe(renderJUnit(smaller));
  });
});
