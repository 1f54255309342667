/**
 * Warnings for secrets written as plain environment values: every process in the container sees
 * them, and `docker inspect` shows them to anyone with engine access. A value is flagged when it is
 * written literally in the definition (not `${VAR}` from the host) under a secret-looking name, or
 * when it looks like a credential whatever its name (the patterns `docker compose publish` and
 * secret scanners warn on). The warning never repeats the value. Pure.
 */

/** Names that announce a secret: `DB_PASSWORD`, `API_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `STRIPE_KEY`… (`*_FILE` names hold paths). */
const SECRET_NAME = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|(^|_)(API|ACCESS|PRIVATE|AUTH|ENCRYPTION|SIGNING|MASTER|LICENSE)?_?KEY(S)?($|_))/i;

/** Values that look like credentials, whatever the variable's name. */
const SECRET_VALUES: ReadonlyArray<{ what: string; pattern: RegExp; literalOnly?: boolean }> = [
  { what: 'a private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: 'an AWS access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'a JSON web token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { what: 'a GitHub token', pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/ },
  { what: 'a Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { what: 'a Stripe key', pattern: /\b[sr]k_(live|test)_[A-Za-z0-9]{16,}/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  // Only as written: `postgres://app:${DB_PASSWORD}@db` is the recommended form.
  { what: 'a URL with a password', pattern: /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, literalOnly: true },
];

export interface SecretFinding {
  variable: string;
  reason: string;
}

/**
 * Findings for one service. `written` is the `environment` as written in the definition before
 * interpolation (a map or a `KEY=VALUE` list); `resolved` the values after it.
 */
export function secretLookingValues(written: unknown, resolved: Readonly<Record<string, string | null>>): SecretFinding[] {
  const raw = writtenValues(written);
  const findings: SecretFinding[] = [];
  for (const [variable, value] of Object.entries(resolved)) {
    if (value === null || value === '') continue;
    const source = raw.get(variable);
    const literal = source !== undefined && !source.includes('$');
    const looksLike = SECRET_VALUES.find((entry) => (literal || !entry.literalOnly) && entry.pattern.test(value));
    if (looksLike) findings.push({ variable, reason: `its value looks like ${looksLike.what}` });
    else if (literal && SECRET_NAME.test(variable) && !/_FILE$/i.test(variable)) findings.push({ variable, reason: 'a secret-looking name with a literal value' });
  }
  return findings;
}

export const SECRET_HINT = 'put it in a file and use `secrets:` (mounted at /run/secrets/NAME), or take it from the host environment with ${VAR}';

function writtenValues(written: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(written)) {
    for (const item of written) {
      if (typeof item !== 'string') continue;
      const index = item.indexOf('=');
      if (index > 0) out.set(item.slice(0, index), item.slice(index + 1));
    }
  } else if (written !== null && typeof written === 'object') {
    for (const [key, value] of Object.entries(written)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out.set(key, String(value));
    }
  }
  return out;
}
