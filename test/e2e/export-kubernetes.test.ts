/**
 * `envctl export kubernetes` as a user runs it (the built CLI): files in a fresh --out folder, each
 * valid against the Kubernetes / Argo Rollouts schemas, never replaced without --force; warnings on
 * stderr name the key; --json describes what was written.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesObject } from '../../src/export/kubernetes-objects.js';
import { schemaProblems } from '../../src/export/kubernetes-validate.js';
import { envctl } from '../support/cli.js';

const DEMO = fileURLToPath(new URL('../../environments/demo/envctl.yaml', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-k8s-e2e-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('envctl export kubernetes (built CLI)', () => {
  it('writes one valid file per object to --out, and refuses to overwrite without --force (exit 2)', async () => {
    const first = await envctl(['export', 'kubernetes', '-f', DEMO, '--env', 'local', '--out', 'k8s'], { cwd: dir });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe('');
    const files = (await readdir(join(dir, 'k8s'))).sort();
    expect(first.stderr).toContain(`wrote ${files.length} objects`);
    expect(files).toContain('rollout-web.yaml');
    expect(files).toContain('persistentvolumeclaim-dbdata.yaml');
    for (const file of files) {
      const documents = parseAllDocuments(await readFile(join(dir, 'k8s', file), 'utf8'));
      expect(documents).toHaveLength(1);
      const object = documents[0]!.toJS() as KubernetesObject;
      expect({ file, problems: schemaProblems(object) }).toEqual({ file, problems: [] });
      expect(file).toBe(`${object.kind.toLowerCase()}-${object.metadata?.name}.yaml`);
    }
    const rollout = await readFile(join(dir, 'k8s', 'rollout-web.yaml'), 'utf8');
    expect(rollout).toContain('setWeight: 25');

    await writeFile(join(dir, 'k8s', 'rollout-web.yaml'), 'keep me\n');
    const refused = await envctl(['export', 'kubernetes', '-f', DEMO, '--out', 'k8s'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('rollout-web.yaml');
    expect(refused.stderr).toContain('--force');
    expect(await readFile(join(dir, 'k8s', 'rollout-web.yaml'), 'utf8')).toBe('keep me\n');

    const forced = await envctl(['export', 'kubernetes', '-f', DEMO, '--env', 'local', '--out', 'k8s', '--force'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(await readFile(join(dir, 'k8s', 'rollout-web.yaml'), 'utf8')).toBe(rollout);
  });

  it('prints one stream on stdout, warnings on stderr, and --json lists the objects', async () => {
    await writeFile(join(dir, 'envctl.yaml'), 'name: e2e\nservices:\n  app:\n    image: app:1\n    volumes: ["./data:/data"]\n');
    const stream = await envctl(['export', 'kubernetes', '--rollouts', 'none'], { cwd: dir });
    expect(stream.exitCode).toBe(0);
    expect(stream.stderr).toContain('warning: services.app.volumes[0]: bind mount of the host path');
    const objects = parseAllDocuments(String(stream.stdout)).map((document) => document.toJS() as KubernetesObject);
    expect(objects.map((object) => `${object.kind}/${object.metadata?.name}`)).toEqual(['Service/app', 'Deployment/app']);

    const json = await envctl(['export', 'kubernetes', '--json'], { cwd: dir });
    expect(json.exitCode).toBe(0);
    const result = JSON.parse(String(json.stdout)) as { objects: Array<{ kind: string; name: string }>; warnings: Array<{ key: string }>; manifests: string };
    expect(result.objects).toEqual([{ kind: 'Service', name: 'app' }, { kind: 'Deployment', name: 'app' }]);
    expect(result.warnings.map((warning) => warning.key)).toEqual(['services.app.volumes[0]']);
    // execa strips the final newline of stdout.
    expect(result.manifests).toBe(`${String(stream.stdout)}\n`);

    const bad = await envctl(['export', 'kubernetes', '--rollouts', 'flagger'], { cwd: dir });
    expect(bad.exitCode).toBe(2);
  });
});
