/**
 * The one place errors become text: located diagnostics with their excerpt and hint, an
 * EnvctlError as one line plus a hint, anything else (a bug) with its stack.
 */
import { styleText } from 'node:util';
import { EnvctlError, type Diagnostic } from '../errors.js';
import { DefinitionError } from '../errors.js';
import { sanitizeTerminalText } from '../ui/sanitize.js';

export interface TextStyle {
  color: boolean;
}

export function renderDiagnostic(diagnostic: Diagnostic, severity: 'error' | 'warning', style: TextStyle): string {
  const paint = (format: Parameters<typeof styleText>[0], text: string) => (style.color ? styleText(format, text) : text);
  const lines = [`${paint('bold', `${diagnostic.file}:${diagnostic.line}:${diagnostic.col}`)} ${paint(severity === 'error' ? 'red' : 'yellow', `${severity}:`)} ${diagnostic.message}`];
  if (diagnostic.excerpt) lines.push(paint('dim', diagnostic.excerpt));
  if (diagnostic.hint) lines.push(`  ${paint('cyan', 'hint:')} ${diagnostic.hint}`);
  return lines.join('\n');
}

export function renderError(error: unknown, style: TextStyle & { debug: boolean }): string {
  const paint = (format: Parameters<typeof styleText>[0], text: string) => (style.color ? styleText(format, text) : text);
  if (error instanceof DefinitionError) {
    const body = error.diagnostics.map((diagnostic) => renderDiagnostic(diagnostic, 'error', style)).join('\n\n');
    const count = error.diagnostics.length;
    return `${body}\n\n${count} error${count === 1 ? '' : 's'} in the definition`;
  }
  if (error instanceof EnvctlError) {
    // Messages can carry container or build output: never let it send escapes to the terminal.
    const lines = [`${paint('red', 'error:')} ${sanitizeTerminalText(error.message)}`];
    if (error.hint) lines.push(`  ${paint('cyan', 'hint:')} ${sanitizeTerminalText(error.hint)}`);
    if (style.debug && error.stack) lines.push(paint('dim', error.stack));
    return lines.join('\n');
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `${paint('red', 'internal error (a bug in envctl, please report it):')}\n${stack}`;
}
