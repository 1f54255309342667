import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAY_MS, daysUntil, formatDays, formatInstant, judgeCertificate, readFirstCertificate, type CertificateFacts } from '../../../src/checks/certificate.js';

const at = (iso: string) => Date.parse(iso);

describe('daysUntil and formatDays', () => {
  it.each([
    ['one day ahead', at('2025-01-02T00:00:00Z'), at('2025-01-01T00:00:00Z'), 1, '1 day'],
    ['half a day ahead', at('2025-01-01T12:00:00Z'), at('2025-01-01T00:00:00Z'), 0.5, 'less than a day'],
    ['across a leap day', at('2024-03-01T00:00:00Z'), at('2024-02-28T00:00:00Z'), 2, '2 days'],
    ['30 days and 23 hours ahead', at('2025-01-31T23:00:00Z'), at('2025-01-01T00:00:00Z'), 30 + 23 / 24, '30 days'],
    ['ten days ago', at('2025-01-01T00:00:00Z'), at('2025-01-11T00:00:00Z'), -10, '10 days'],
  ])('%s', (_name, until, now, days, shown) => {
    expect(daysUntil(until, now)).toBeCloseTo(days, 9);
    expect(formatDays(daysUntil(until, now))).toBe(shown);
  });

  it('formats instants without milliseconds', () => {
    expect(formatInstant(at('2020-02-01T00:00:00.000Z'))).toBe('2020-02-01T00:00:00Z');
  });
});

describe('judgeCertificate', () => {
  const facts: CertificateFacts = { subject: 'O=Envctl Tests\nCN=leaf.envctl.test', validFrom: at('2024-01-01T00:00:00Z'), validTo: at('2024-03-01T00:00:00Z') };

  it.each([
    ['valid with plenty of days left', '2024-01-15T00:00:00Z', 14, undefined, true, ['is valid from 2024-01-01T00:00:00Z until 2024-03-01T00:00:00Z (46 days left, at least 14 required)', 'has subject "O=Envctl Tests, CN=leaf.envctl.test"']],
    ['exactly minDays left passes', '2024-02-16T00:00:00Z', 14, undefined, true, undefined],
    ['one second less than minDays fails', '2024-02-16T00:00:01Z', 14, undefined, false, ['expires on 2024-03-01T00:00:00Z, in 13 days; at least 14 days are required']],
    ['minDays 0 on its last second passes', '2024-03-01T00:00:00Z', 0, undefined, true, undefined],
    ['expired', '2024-03-11T00:00:00Z', 0, undefined, false, ['expired on 2024-03-01T00:00:00Z (10 days ago; valid from 2024-01-01T00:00:00Z)']],
    ['not valid yet', '2023-12-30T00:00:00Z', 0, undefined, false, ['is not valid yet: valid from 2024-01-01T00:00:00Z (in 2 days) until 2024-03-01T00:00:00Z']],
    ['subject as printed by node', '2024-01-15T00:00:00Z', 14, 'CN=leaf.envctl.test', true, undefined],
    ['subject written on one line', '2024-01-15T00:00:00Z', 14, 'O=Envctl Tests, CN=leaf', true, undefined],
    ['wrong subject', '2024-01-15T00:00:00Z', 14, 'CN=other', false, ['has subject "O=Envctl Tests, CN=leaf.envctl.test", which does not contain "CN=other"']],
    ['expired and wrong subject: both reasons', '2025-01-01T00:00:00Z', 14, 'CN=other', false, ['expired on 2024-03-01T00:00:00Z (306 days ago; valid from 2024-01-01T00:00:00Z)', 'has subject "O=Envctl Tests, CN=leaf.envctl.test", which does not contain "CN=other"']],
  ])('%s', (_name, now, minDays, subject, passed, reasons) => {
    const judged = judgeCertificate(facts, { now: at(now), minDays, subject });
    expect(judged.passed).toBe(passed);
    if (reasons) expect(judged.reasons).toEqual(reasons);
  });

  it('shows a hostile subject without control characters', () => {
    const judged = judgeCertificate({ ...facts, subject: 'CN=evil\u001b]52;c;AAAA\u0007\u202e' }, { now: at('2024-01-15T00:00:00Z'), minDays: 0, subject: 'CN=good' });
    expect(judged.reasons[0]).toBe('has subject "CN=evil", which does not contain "CN=good"');
  });

  it('counts days as 24-hour periods', () => {
    expect(DAY_MS).toBe(24 * 60 * 60 * 1000);
  });
});

describe('readFirstCertificate', () => {
  // chain.pem: the leaf (O=Envctl Tests, CN=leaf.envctl.test, 2024-01-01 … 2034-01-01) then a CA.
  const chain = readFileSync(new URL('../../fixtures/checks/chain.pem', import.meta.url), 'utf8');

  it('reads the first certificate of a chain', () => {
    const read = readFirstCertificate(`some text before\n${chain}`);
    expect(read).toEqual({ ok: true, facts: { subject: 'O=Envctl Tests\nCN=leaf.envctl.test', validFrom: at('2024-01-01T00:00:00Z'), validTo: at('2034-01-01T00:00:00Z') } });
  });

  it.each([
    ['no PEM block', 'hello', 'holds no PEM certificate (no BEGIN CERTIFICATE block)'],
    ['a private key only', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'holds no PEM certificate (no BEGIN CERTIFICATE block)'],
    ['a broken certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /^holds a certificate that cannot be parsed \(.+\)$/],
  ])('%s', (_name, text, reason) => {
    const read = readFirstCertificate(text);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toMatch(reason);
  });
});
