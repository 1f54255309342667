import { describe, expect, it } from 'vitest';
import { excerpt, quote, seconds, showCommand } from '../../../src/checks/text.js';

describe('excerpt', () => {
  it.each([
    ['plain text is kept', 'listening on 3000', 200, 'listening on 3000'],
    ['newlines and tabs become single spaces', 'a\n\tb\r\nc', 200, 'a b c'],
    ['ANSI colours are removed', '\u001b[31merror\u001b[0m', 200, 'error'],
    ['OSC 52 clipboard writes are removed', 'a\u001b]52;c;Y3VybA==\u0007b', 200, 'ab'],
    ['an 8-bit CSI sequence, DEL and NUL are removed', 'a\u009b2J\u007f\u0000b', 200, 'a b'],
    ['bidi overrides and zero-width characters are removed', 'a\u202eb\u200bc\u2066d', 200, 'a b c d'],
    ['long text is cut with an ellipsis', 'abcdefghij', 5, 'abcd…'],
    ['the cut does not split a surrogate pair', '😀😀😀😀', 3, '😀😀…'],
    ['text of exactly the limit stays whole', 'abcde', 5, 'abcde'],
  ])('%s', (_name, text, max, expected) => {
    expect(excerpt(text, max)).toBe(expected);
  });
});

describe('quote, showCommand, seconds', () => {
  it('quotes safely', () => {
    expect(quote('x\u001b[2Jy')).toBe('"xy"');
  });
  it('shows a command as typed', () => {
    expect(showCommand(['sh', '-c', 'exit 3'])).toBe('`sh -c exit 3`');
  });
  it.each([
    [1500, '1.5 s'],
    [30_000, '30 s'],
    [250, '0.3 s'],
  ])('seconds(%s) → %s', (ms, expected) => {
    expect(seconds(ms)).toBe(expected);
  });
});
