/**
 * Secret-looking plain environment values produce a located warning that names the variable and
 * never repeats the value; values taken from the host (`${VAR}`) and `*_FILE` paths do not.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition, validateAllEnvironments } from '../../src/definition/resolve.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-secret-lint-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function secretWarnings(environment: string, files: Record<string, string> = {}, processEnv: Record<string, string> = {}) {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, `services:\n  web:\n    image: web\n${environment}`);
  const model = await loadDefinition({ cwd: dir, file, processEnv });
  return model.warnings.filter((warning) => warning.code === 'SECRET_IN_ENVIRONMENT');
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQ';

describe('secret-looking environment values', () => {
  const warned: Array<[string, string, string, string]> = [
    ['a literal password', '    environment: { DB_PASSWORD: hunter2-planted }\n', 'DB_PASSWORD', 'literal value'],
    ['a literal token in list form', '    environment: ["API_TOKEN=tok-planted"]\n', 'API_TOKEN', 'literal value'],
    ['a literal *_KEY', '    environment: { STRIPE_SECRET_KEY: abc-planted }\n', 'STRIPE_SECRET_KEY', 'literal value'],
    ['an AWS key id under any name', '    environment: { SOMETHING: AKIAABCDEFGHIJKLMNOP }\n', 'SOMETHING', 'AWS access key id'],
    ['a JWT under any name', `    environment: { SESSION: ${JWT} }\n`, 'SESSION', 'JSON web token'],
    ['a literal URL with a password', '    environment: { DATABASE_URL: "postgres://app:pw-planted@db/app" }\n', 'DATABASE_URL', 'URL with a password'],
    ['a private key', '    environment: { TLS: "-----BEGIN RSA PRIVATE KEY-----\\nplanted\\n-----END RSA PRIVATE KEY-----" }\n', 'TLS', 'private key'],
  ];
  it.each(warned)('warns on %s, at its line, without repeating the value', async (_what, yaml, variable, reason) => {
    const warnings = await secretWarnings(yaml);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ line: 4, path: `services.web.environment.${variable}` });
    expect(warnings[0]!.message).toContain(variable);
    expect(warnings[0]!.message).toContain(reason);
    expect(warnings[0]!.hint).toContain('secrets:');
    expect(JSON.stringify(warnings)).not.toMatch(/planted|AKIAABCDEFGHIJKLMNOP/);
  });

  it('warns on a credential-looking value from an env_file too', async () => {
    const warnings = await secretWarnings('    env_file: web.env\n', { 'web.env': `SESSION=${JWT}\n` });
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringContaining('SESSION looks like a secret (its value looks like a JSON web token)')]);
  });

  const quiet: Array<[string, string]> = [
    ['a password from the host environment', '    environment: { DB_PASSWORD: "${DB_PASSWORD}", DATABASE_URL: "postgres://app:${DB_PASSWORD}@db/app" }\n'],
    ['a password taken from the host by name', '    environment: [DB_PASSWORD]\n'],
    ['a *_FILE path', '    environment: { DB_PASSWORD_FILE: /run/secrets/db_password }\n'],
    ['ordinary values', '    environment: { LOG_LEVEL: debug, KEYSPACE: shop, MONKEY: "1", PORT: "3000", DATABASE_URL: "postgres://db/app" }\n'],
    ['an empty password', '    environment: { DB_PASSWORD: "" }\n'],
  ];
  it.each(quiet)('does not warn on %s', async (_what, yaml) => {
    expect(await secretWarnings(yaml, {}, { DB_PASSWORD: 'from-host' })).toEqual([]);
  });

  it('keeps the demo quiet (its password comes from ${DEMO_DB_PASSWORD:-…})', async () => {
    const demo = fileURLToPath(new URL('../../environments/demo/envctl.yaml', import.meta.url));
    const models = await validateAllEnvironments({ cwd: dir, file: demo, processEnv: {} });
    expect(models.flatMap((model) => model.warnings).filter((warning) => warning.code === 'SECRET_IN_ENVIRONMENT')).toEqual([]);
  });
});
