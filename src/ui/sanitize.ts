/**
 * Text that comes from containers and builds (build output, health-check output, error details)
 * is untrusted: a container must not be able to move the cursor, clear the screen, set the
 * clipboard (OSC 52), retitle the window or forge hyperlinks on the user's terminal. Every such
 * string goes through here before any renderer shows it.
 */
import stripAnsi from 'strip-ansi';

/**
 * C0 controls except tab (0x09) and newline (0x0a), DEL, and the C1 range: some terminals act on
 * C1 characters (0x9b is a one-byte CSI), and anything strip-ansi leaves behind (an unterminated
 * OSC, a lone ESC) must not reach the terminal either. What remains of such a sequence is
 * printable text.
 */
const UNSAFE_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Terminal-safe text: escape sequences removed, control characters removed except tab and newline. */
export function sanitizeTerminalText(text: string): string {
  const withoutSequences = stripAnsi(text);
  const lines = withoutSequences.replace(/\r\n/g, '\n').split('\n');
  // A carriage return overwrites the line (progress bars); show what the terminal would show last.
  const shown = lines.map((line) => lastCarriageReturnSegment(line).replace(UNSAFE_CONTROLS, ''));
  return shown.join('\n');
}

/**
 * One terminal-safe display line: sanitised, blank lines dropped, the rest joined with a space so
 * one event never becomes several lines, trailing whitespace trimmed. Leading indentation and
 * tabs stay (build output is often indented; see `expandTabs`).
 */
export function sanitizeLine(text: string): string {
  return sanitizeTerminalText(text)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .join(' ');
}

/** Tabs as spaces up to the next stop (every `tabWidth` columns), so the width of a line is knowable. */
export function expandTabs(line: string, tabWidth = 8): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const char of line) {
    if (char === '\t') out += ' '.repeat(tabWidth - (out.length % tabWidth));
    else out += char;
  }
  return out;
}

function lastCarriageReturnSegment(line: string): string {
  if (!line.includes('\r')) return line;
  const segments = line.split('\r').filter((segment) => segment !== '');
  return segments.at(-1) ?? '';
}
