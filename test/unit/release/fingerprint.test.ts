/**
 * Error-log fingerprints (src/release/analysis/fingerprint.ts): normalisation table and the
 * "new in the canary" rule of canary.md §3.3e.
 */
import { describe, expect, it } from 'vitest';
import { findNewFingerprints, fingerprint } from '../../../src/release/analysis/fingerprint.js';

describe('fingerprint', () => {
  it.each([
    ['ERROR timeout after 3012 ms for id 42', 'ERROR timeout after <num> ms for id <num>'],
    ['ERROR timeout after 10007 ms for id 7', 'ERROR timeout after <num> ms for id <num>'],
    ['ERROR took 42ms, retry 1.5s', 'ERROR took <num>ms, retry <num>s'],
    ['FATAL user 3f2b8c1e-9a4d-4e2f-8b1a-0c9d8e7f6a5b not found', 'FATAL user <uuid> not found'],
    ['FATAL user 3F2B8C1E-9A4D-4E2F-8B1A-0C9D8E7F6A5B not found', 'FATAL user <uuid> not found'],
    ['panic: nil pointer at 0xc000a1b2c3', 'panic: nil pointer at <hex>'],
    ['ERROR commit 9fceb02d0ae598e95dc970b74767f19372d61af8 missing', 'ERROR commit <hex> missing'],
    ['ERROR object 5f1d7a9e8c3b2a10 gone', 'ERROR object <hex> gone'],
    ['ERROR deadbeef cafe words stay', 'ERROR deadbeef cafe words stay'],
    ['ERROR key "user:42" rejected', 'ERROR key <str> rejected'],
    ["ERROR can't open 'db.sqlite' (mode 0644)", "ERROR can't open <str> (mode <num>)"],
    ['Unhandled rejection: `SELECT 1` failed', 'Unhandled rejection: <str> failed'],
    ['ERROR utf8 sha256 v2 h2c stay as words', 'ERROR utf8 sha256 v2 h2c stay as words'],
    ['2024-05-01T12:00:03.123Z ERROR boom', '<time> ERROR boom'],
    ['2024-05-01 12:00:03,123+02:00 ERROR boom', '<time> ERROR boom'],
    ['[12:00:03] ERROR boom', '[<num>:<num>:<num>] ERROR boom'],
    ['ERROR from 10.0.0.12:8080', 'ERROR from <num>.<num>:<num>'],
    ['\u001b[31mERROR\u001b[0m   red   and   spaced  ', 'ERROR red and spaced'],
    ['ERROR {"code":503,"msg":"upstream"}', 'ERROR {<str>:<num>,<str>:<str>}'],
  ])('%j → %j', (line, expected) => {
    expect(fingerprint(line)).toBe(expected);
  });

  it('gives lines that differ only in values the same fingerprint', () => {
    expect(fingerprint('Traceback: KeyError "order-77" at line 12')).toBe(fingerprint('Traceback: KeyError "order-9" at line 130'));
  });
});

describe('findNewFingerprints', () => {
  it('keeps canary-only fingerprints seen at least 3 times, most frequent first, ties by text', () => {
    const canary = new Map([
      ['ERROR a <num>', 3],
      ['ERROR b', 2],
      ['ERROR shared', 10],
      ['ERROR c', 7],
      ['ERROR 0 ties', 3],
    ]);
    const elsewhere = new Set(['ERROR shared']);
    expect(findNewFingerprints(canary, elsewhere)).toEqual([
      { fingerprint: 'ERROR c', canaryCount: 7 },
      { fingerprint: 'ERROR 0 ties', canaryCount: 3 },
      { fingerprint: 'ERROR a <num>', canaryCount: 3 },
    ]);
  });

  it('returns nothing when the canary has nothing new', () => {
    expect(findNewFingerprints(new Map([['ERROR x', 5]]), new Set(['ERROR x']))).toEqual([]);
  });
});
