/**
 * Security review fixes for `export kubernetes`: Secret files are written 0600 and the stream
 * shown by --json has every Secret value redacted.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportKubernetes } from '../../../src/export/kubernetes.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-secexport-'));
  await writeFile(join(dir, 'envctl.yaml'), 'name: shop\nservices:\n  web:\n    image: nginx:1\n    environment: { API_TOKEN: "planted-t0ken-value", MODE: "prod" }\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('export kubernetes and secrets', () => {
  it('writes Secret files 0600 and other files 0644', async () => {
    const result = await exportKubernetes({ load: { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} }, outDir: 'k8s', rollouts: 'none' });
    const secret = result.objects.find((object) => object.kind === 'Secret');
    const other = result.objects.find((object) => object.kind === 'Deployment');
    expect(secret?.file).toBeDefined();
    expect((await stat(secret!.file!)).mode & 0o777).toBe(0o600);
    expect((await stat(other!.file!)).mode & 0o777).toBe(0o644);
  });

  it('keeps the values in the real stream but redacts them in the one --json shows', async () => {
    const result = await exportKubernetes({ load: { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} }, rollouts: 'none' });
    expect(result.manifests).toContain('planted-t0ken-value');
    expect(result.redactedManifests).not.toContain('planted-t0ken-value');
    expect(result.redactedManifests).toMatch(/API_TOKEN: <redacted>/);
    expect(result.redactedManifests).toContain('MODE: prod');
  });
});
