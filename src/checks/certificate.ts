/**
 * Certificate checks without openssl in the image: the PEM is read from the container and parsed
 * here with node:crypto; the judgement (dates, days left, subject) is pure and takes `now`.
 */
import { X509Certificate } from 'node:crypto';
import { excerpt, quote } from './text.js';

export const DAY_MS = 86_400_000;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;

export interface CertificateFacts {
  /** Distinguished name, one `KEY=value` per line as node:crypto prints it. */
  subject: string;
  /** Epoch ms. */
  validFrom: number;
  validTo: number;
}

/** The first certificate in PEM text (a chain file starts with the leaf), or why there is none. */
export function readFirstCertificate(pemText: string): { ok: true; facts: CertificateFacts } | { ok: false; reason: string } {
  const block = PEM_CERTIFICATE.exec(pemText)?.[0];
  if (!block) return { ok: false, reason: 'holds no PEM certificate (no BEGIN CERTIFICATE block)' };
  try {
    const certificate = new X509Certificate(block);
    return { ok: true, facts: { subject: certificate.subject, validFrom: certificate.validFromDate.getTime(), validTo: certificate.validToDate.getTime() } };
  } catch (error) {
    return { ok: false, reason: `holds a certificate that cannot be parsed (${excerpt((error as Error).message, 120)})` };
  }
}

/** Days (fractional) from `now` until `until`; negative once `until` has passed. */
export function daysUntil(until: number, now: number): number {
  return (until - now) / DAY_MS;
}

/** Whole days for people: "less than a day", "1 day", "12 days". */
export function formatDays(days: number): string {
  const whole = Math.floor(Math.abs(days));
  if (whole === 0) return 'less than a day';
  return whole === 1 ? '1 day' : `${whole} days`;
}

/** `2020-02-01T00:00:00Z` (certificates carry whole seconds). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A subject on one line, safe to show: `CN=example, O=Acme`. */
export function formatSubject(subject: string): string {
  return excerpt(subject.split('\n').filter(Boolean).join(', '), 200);
}

export interface CertificateExpectation {
  /** Epoch ms. */
  now: number;
  /** The certificate must stay valid at least this many days from now. */
  minDays: number;
  /** Text the subject must contain (either as printed, one part per line, or as `A=1, B=2`); undefined means any. */
  subject: string | undefined;
}

/**
 * Is the certificate valid now (validFrom ≤ now ≤ validTo) and for at least `minDays` more days,
 * with the expected subject? Reasons show the dates either way.
 */
export function judgeCertificate(facts: CertificateFacts, expect: CertificateExpectation): { passed: boolean; reasons: string[] } {
  const failures: string[] = [];
  const left = daysUntil(facts.validTo, expect.now);
  const from = formatInstant(facts.validFrom);
  const to = formatInstant(facts.validTo);
  if (expect.now < facts.validFrom) {
    failures.push(`is not valid yet: valid from ${from} (in ${formatDays(daysUntil(facts.validFrom, expect.now))}) until ${to}`);
  } else if (expect.now > facts.validTo) {
    failures.push(`expired on ${to} (${formatDays(left)} ago; valid from ${from})`);
  } else if (facts.validTo - expect.now < expect.minDays * DAY_MS) {
    failures.push(`expires on ${to}, in ${formatDays(left)}; at least ${expect.minDays} days are required`);
  }
  const subject = formatSubject(facts.subject);
  if (expect.subject !== undefined && !facts.subject.includes(expect.subject) && !subject.includes(expect.subject)) {
    failures.push(`has subject "${subject}", which does not contain ${quote(expect.subject)}`);
  }
  if (failures.length > 0) return { passed: false, reasons: failures };
  return { passed: true, reasons: [`is valid from ${from} until ${to} (${formatDays(left)} left, at least ${expect.minDays} required)`, `has subject "${subject}"`] };
}
