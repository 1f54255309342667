/**
 * Text that comes out of a container (file contents, command output, env values, HTTP bodies)
 * is untrusted: before it goes into a check's reasons it loses escape sequences, control and
 * format characters (bidi overrides, zero-width characters) and is cut to a readable length.
 */
import stripAnsi from 'strip-ansi';

/** Control (Cc), format (Cf) and line/paragraph separator characters; tabs and newlines included. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;

/** One safe line of at most `maxChars` characters (code points); "…" marks a cut. */
export function excerpt(text: string, maxChars = 200): string {
  const clean = stripAnsi(text).replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : clean;
}

/** A value shown in quotes, safe and short. */
export function quote(text: string, maxChars = 80): string {
  return `"${excerpt(text, maxChars)}"`;
}

/** A command as a person would type it, safe and short. */
export function showCommand(command: readonly string[]): string {
  return `\`${excerpt(command.join(' '), 80)}\``;
}

/** Seconds for people: "1.5 s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
