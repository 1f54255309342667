/**
 * The pipeline's JUnit XML report, in the Ant/Jenkins/Surefire shape that CI systems (Jenkins,
 * GitLab, GitHub test reporters) read: `<testsuites>` → one `<testsuite>` per stage → one
 * `<testcase>` per command, check or threshold.
 *
 * Case names, messages and output come from containers and user commands: the XML library escapes
 * markup, terminal escape sequences are stripped (`\x1b[31m` is noise in a CI report), and what is
 * still not allowed in XML 1.0 (NUL and other C0 controls, lone surrogates, U+FFFE/U+FFFF) becomes
 * U+FFFD. Redacting secrets is the caller's job, before the text gets here.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import stripAnsi from 'strip-ansi';
import writeFileAtomic from 'write-file-atomic';
import { create } from 'xmlbuilder2';

export type JUnitCaseStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface JUnitCase {
  name: string;
  classname: string;
  durationMs: number;
  /** `failed`: the check or threshold said no; `error`: it could not be evaluated (timeout, crash). */
  status: JUnitCaseStatus;
  /** Why it failed, errored or was skipped; the first line becomes the `message` attribute. */
  message?: string;
  /** Output of the command or check (a tail is kept, see `MAX_OUTPUT_CHARS`), as `<system-out>`. */
  output?: string;
}

export interface JUnitSuite {
  /** The stage. */
  name: string;
  durationMs: number;
  /** ISO 8601; default: the report's timestamp. */
  timestamp?: string;
  cases: JUnitCase[];
}

export interface JUnitReport {
  /** The run, e.g. `envctl pipeline shop/ci`. */
  name: string;
  /** When the run started, ISO 8601. */
  timestamp: string;
  durationMs: number;
  suites: JUnitSuite[];
}

/** `<system-out>` keeps the last this many characters: CI viewers choke on megabytes of logs. */
export const MAX_OUTPUT_CHARS = 64 * 1024;
/** The `message` attribute is one line of at most this many characters; the full text is the element's body. */
const MAX_MESSAGE_CHARS = 500;

type XMLBuilder = ReturnType<typeof create>;

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

export function renderJUnit(report: JUnitReport): string {
  // XML 1.0 forbids these characters even as references; the library replaces what is left after `xmlText`.
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const total = report.suites.map((suite) => countCases(suite.cases)).reduce(addCounts, { tests: 0, failures: 0, errors: 0, skipped: 0 });
  const root = doc.ele('testsuites', {
    name: xmlText(report.name),
    ...countAttributes(total),
    time: seconds(report.durationMs),
    timestamp: junitTimestamp(report.timestamp),
  });
  for (const suite of report.suites) {
    const element = root.ele('testsuite', {
      name: xmlText(suite.name),
      ...countAttributes(countCases(suite.cases)),
      time: seconds(suite.durationMs),
      timestamp: junitTimestamp(suite.timestamp ?? report.timestamp),
    });
    for (const testCase of suite.cases) appendCase(element, testCase);
  }
  return doc.end({ prettyPrint: true }) + '\n';
}

/** Writes the report atomically (temporary file, fsync, rename): a CI job never reads half a file. */
export async function writeJUnitFile(path: string, report: JUnitReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, renderJUnit(report), { encoding: 'utf8' });
}

function appendCase(suite: XMLBuilder, testCase: JUnitCase): void {
  const element = suite.ele('testcase', { name: xmlText(testCase.name), classname: xmlText(testCase.classname), time: seconds(testCase.durationMs) });
  const message = testCase.message === undefined ? undefined : xmlText(testCase.message);
  switch (testCase.status) {
    case 'passed':
      break;
    case 'skipped':
      element.ele('skipped', message === undefined ? {} : { message: messageAttribute(message) });
      break;
    case 'failed':
    case 'error': {
      const tag = testCase.status === 'failed' ? 'failure' : 'error';
      const child = element.ele(tag, { message: messageAttribute(message ?? testCase.status), type: tag });
      if (message !== undefined) child.txt(message);
      break;
    }
  }
  if (testCase.output !== undefined && testCase.output !== '') element.ele('system-out').txt(outputTail(xmlText(testCase.output)));
}

function countCases(cases: readonly JUnitCase[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.status === 'failed').length,
    errors: cases.filter((c) => c.status === 'error').length,
    skipped: cases.filter((c) => c.status === 'skipped').length,
  };
}

function addCounts(a: Counts, b: Counts): Counts {
  return { tests: a.tests + b.tests, failures: a.failures + b.failures, errors: a.errors + b.errors, skipped: a.skipped + b.skipped };
}

function countAttributes(counts: Counts): Record<keyof Counts, string> {
  return { tests: String(counts.tests), failures: String(counts.failures), errors: String(counts.errors), skipped: String(counts.skipped) };
}

/** Milliseconds → seconds with 3 decimals, as Surefire writes them; never negative. */
function seconds(ms: number): string {
  return (Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0).toFixed(3);
}

/**
 * `2026-11-26T10:29:18` in UTC. The Ant schema (which Jenkins follows) allows no fraction and no
 * zone designator; a timestamp that does not parse is left out rather than written wrong.
 */
function junitTimestamp(iso: string): string | undefined {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 19);
}

/** Terminal escape sequences stripped and line ends normalised; the XML library handles the rest. */
function xmlText(text: string): string {
  return stripAnsi(text).replace(/\r\n?/g, '\n');
}

/** One line: parsers turn newlines in attributes into spaces anyway, and CI shows it as a title. */
function messageAttribute(message: string): string {
  const line = message.split('\n').map((part) => part.trim()).find((part) => part !== '') ?? '';
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS - 1)}…` : line;
}

function outputTail(output: string): string {
  if (output.length <= MAX_OUTPUT_CHARS) return output;
  const omitted = output.length - MAX_OUTPUT_CHARS;
  return `[… ${omitted} earlier characters omitted]\n${output.slice(-MAX_OUTPUT_CHARS)}`;
}
