/**
 * scripts/audit.sh: an audit that could not be done fails unless ENVCTL_AUDIT_UNAVAILABLE_OK=1
 * (and then still says so loudly); advisories always fail. A stand-in `npm` first on PATH prints
 * each kind of report npm prints.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/audit.sh', import.meta.url));
let bin: string;
beforeEach(async () => {
  bin = await mkdtemp(join(tmpdir(), 'envctl-audit-'));
});
afterEach(async () => {
  await rm(bin, { recursive: true, force: true });
});

async function audit(report: string, exitCode: number, env: Record<string, string> = {}) {
  await writeFile(join(bin, 'report.json'), report);
  await writeFile(join(bin, 'npm'), `#!/bin/sh\ncat "${join(bin, 'report.json')}"\nexit ${exitCode}\n`);
  await chmod(join(bin, 'npm'), 0o755);
  return execa('bash', [SCRIPT], { reject: false, env: { PATH: `${bin}:${process.env.PATH}`, ...env }, extendEnv: false });
}

const ENDPOINT_405 = JSON.stringify({ message: '405 Method Not Allowed - POST /-/npm/v1/security/advisories/bulk', statusCode: 405 });

describe('scripts/audit.sh', () => {
  it('fails when the audit endpoint answers 405', async () => {
    const run = await audit(ENDPOINT_405, 1);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('AUDIT ENDPOINT UNAVAILABLE');
  });

  it('fails on output that does not parse', async () => {
    const run = await audit('npm ERR! something odd', 1);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('NOTHING WAS CHECKED');
  });

  it('passes an unavailable endpoint only with ENVCTL_AUDIT_UNAVAILABLE_OK=1, still loudly', async () => {
    const run = await audit(ENDPOINT_405, 1, { ENVCTL_AUDIT_UNAVAILABLE_OK: '1' });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('AUDIT ENDPOINT UNAVAILABLE');
    expect(run.stderr).toContain('NOT audited');
  });

  it('fails on a high advisory even with the opt-out', async () => {
    const report = JSON.stringify({ vulnerabilities: { lodash: { severity: 'high', range: '<4.17.21' } }, metadata: { vulnerabilities: { high: 1, critical: 0 } } });
    const run = await audit(report, 1, { ENVCTL_AUDIT_UNAVAILABLE_OK: '1' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('high: lodash');
  });

  it('passes a clean audit', async () => {
    const run = await audit(JSON.stringify({ vulnerabilities: {}, metadata: { vulnerabilities: { high: 0, critical: 0 } } }), 0);
    expect(run.exitCode).toBe(0);
  });
});
