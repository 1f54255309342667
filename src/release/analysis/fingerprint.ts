/**
 * Error-log fingerprints (canary.md §3.2, §3.3e): a log line with its variable parts replaced by
 * placeholders, so "timeout after 3012 ms for id 42" and "timeout after 10007 ms for id 7" count as
 * one kind of error, and a kind that only the canary prints can be named.
 */

/** Placeholders, in the order they are applied (quoted text first: it may contain anything). */
export const PLACEHOLDERS = { string: '<str>', time: '<time>', uuid: '<uuid>', hex: '<hex>', number: '<num>' } as const;

// ANSI colour and cursor sequences some loggers add on a TTY.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;
// A quote that opens after a non-word character and closes before one, so the apostrophe in
// "can't" does not start a string.
const DOUBLE_QUOTED = /(?<!\w)"(?:[^"\\\n]|\\.)*"(?!\w)/g;
const SINGLE_QUOTED = /(?<!\w)'(?:[^'\\\n]|\\.)*'(?!\w)/g;
const BACKTICK_QUOTED = /(?<!\w)`[^`\n]*`(?!\w)/g;
// ISO-8601 dates and date-times (the "T12" hour would otherwise stay glued to the letter).
const TIMESTAMP = /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const PREFIXED_HEX = /\b0x[0-9a-f]+\b/gi;
// Bare hex runs of 8+ characters with at least one digit and one letter: ids, hashes, addresses.
// Words that happen to be hex ("deadbeef", "accede") have no digit and stay; all-digit runs are numbers.
const BARE_HEX = /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi;
// Whole digit runs not glued to a preceding letter, so "utf8", "sha256", "v2" and "h2c" stay;
// "42ms" becomes "<num>ms".
const NUMBER = /(?<![A-Za-z_\d])\d+(?:\.\d+)?/g;
const SPACES = /\s+/g;

/**
 * The fingerprint of one log line: quoted strings, ISO timestamps, UUIDs, hex values and numbers
 * replaced by `<str>`, `<time>`, `<uuid>`, `<hex>`, `<num>`; ANSI sequences removed; runs of
 * whitespace collapsed; so values that change from line to line leave no trace.
 */
export function fingerprint(line: string): string {
  return line
    .replace(ANSI, '')
    .replace(DOUBLE_QUOTED, PLACEHOLDERS.string)
    .replace(SINGLE_QUOTED, PLACEHOLDERS.string)
    .replace(BACKTICK_QUOTED, PLACEHOLDERS.string)
    .replace(TIMESTAMP, PLACEHOLDERS.time)
    .replace(UUID, PLACEHOLDERS.uuid)
    .replace(PREFIXED_HEX, PLACEHOLDERS.hex)
    .replace(BARE_HEX, PLACEHOLDERS.hex)
    .replace(NUMBER, PLACEHOLDERS.number)
    .replace(SPACES, ' ')
    .trim();
}

/** How often the canary must print a fingerprint before it counts as new (canary.md §3.3e). */
export const NEW_FINGERPRINT_MIN_COUNT = 3;

export interface NewFingerprint {
  fingerprint: string;
  /** Lines with this fingerprint the canary printed during the release. */
  canaryCount: number;
}

/**
 * Fingerprints the canary printed at least 3 times during the release that neither the baseline nor
 * prod printed at all, most frequent first (ties by text, so the order is stable for replays).
 *
 * @param canaryCounts fingerprint → count of canary lines during the release.
 * @param seenElsewhere fingerprints printed by baseline or prod during the release.
 */
export function findNewFingerprints(
  canaryCounts: ReadonlyMap<string, number>,
  seenElsewhere: ReadonlySet<string>,
  minCount: number = NEW_FINGERPRINT_MIN_COUNT,
): NewFingerprint[] {
  return [...canaryCounts]
    .filter(([print, count]) => count >= minCount && !seenElsewhere.has(print))
    .map(([print, count]) => ({ fingerprint: print, canaryCount: count }))
    .sort((a, b) => b.canaryCount - a.canaryCount || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
}
