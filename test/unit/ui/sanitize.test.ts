import { describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { createProgressRenderer } from '../../../src/ui/render-progress.js';
import { expandTabs, sanitizeLine, sanitizeTerminalText } from '../../../src/ui/sanitize.js';
import { CLEAR_SCREEN, expectJsonLines, expectTerminalSafe, OSC52_CLIPBOARD, renderedOutput } from './support.js';

const HOSTILE_LINE = `Step 2/4 : RUN make${OSC52_CLIPBOARD}${CLEAR_SCREEN} done`;

describe('sanitizeTerminalText', () => {
  it.each([
    ['plain text is kept', 'Step 1/4 : FROM node', 'Step 1/4 : FROM node'],
    ['SGR colours are removed', '\u001b[1;31merror\u001b[0m', 'error'],
    ['OSC 52 (clipboard) with BEL is removed', `a${OSC52_CLIPBOARD}b`, 'ab'],
    ['OSC with ST is removed', 'a\u001b]0;window title\u001b\\b', 'ab'],
    ['OSC 8 hyperlinks are removed, the text stays', '\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007', 'click'],
    ['clear screen and cursor moves are removed', `a${CLEAR_SCREEN}\u001b[H\u001b[10A\u001b7b`, 'ab'],
    ['DCS strings are removed', 'a\u001bP1$qm\u001b\\b', 'ab'],
    ['an unterminated OSC loses its ESC', 'a\u001b]52;c;AAAA', 'a]52;c;AAAA'],
    ['8-bit CSI (C1) is removed', 'a\u009b2Jb', 'ab'],
    ['C1 controls, DEL, BEL and backspace are removed', 'a\u0085\u007f\u0007\u0008b', 'ab'],
    ['tab and newline are kept', 'a\tb\nc', 'a\tb\nc'],
    ['CRLF becomes a newline', 'a\r\nb', 'a\nb'],
    ['a carriage return shows what the terminal would show last', 'progress 10%\rprogress 100%', 'progress 100%'],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeTerminalText(input)).toBe(expected);
  });
});

describe('sanitizeLine', () => {
  it.each([
    ['joins lines with a space', 'unhealthy:\npg_isready: no response\n', 'unhealthy: pg_isready: no response'],
    ['drops blank lines and trailing space', '  indented  \n\n   \nnext\t ', '  indented next'],
    ['is empty for escape sequences only', `${CLEAR_SCREEN}${OSC52_CLIPBOARD}`, ''],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeLine(input)).toBe(expected);
  });
});

describe('expandTabs', () => {
  it.each([
    ['a\tb', 'a       b'],
    ['abcdefgh\tb', 'abcdefgh        b'],
    ['\t', '        '],
    ['none', 'none'],
  ])('%j → %j', (input, expected) => {
    expect(expandTabs(input)).toBe(expected);
  });
});

describe('hostile container output never reaches the terminal', () => {
  const events: EnvctlEvent[] = [
    { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['web'] },
    { type: 'service', at: 10, service: 'web', phase: 'building' },
    { type: 'build-log', at: 20, service: 'web', line: HOSTILE_LINE },
    { type: 'build-log', at: 21, service: 'web', line: 'eight-bit \u009b2J clear' },
    { type: 'warning', at: 30, message: `container said ${CLEAR_SCREEN}hi` },
    { type: 'service', at: 40, service: 'web', phase: 'failed', detail: `exited (1)${OSC52_CLIPBOARD}` },
    { type: 'done', at: 50, ok: false, cancelled: false, summary: `failed${CLEAR_SCREEN}` },
  ];

  it.each(['tty', 'plain'] as const)('%s: no OSC 52, no clear-screen, the text still shows', async (mode) => {
    const output = await renderedOutput(createProgressRenderer, mode, events, { env: {} });
    expect(output).toContain('Step 2/4 : RUN make done');
    expectTerminalSafe(output);
  });

  it('jsonl: escape characters stay escaped inside JSON strings', async () => {
    expectJsonLines(await renderedOutput(createProgressRenderer, 'json', events, { env: { ENVCTL_EVENTS: 'jsonl' } }), events);
  });
});
