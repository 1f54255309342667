/**
 * `envctl export compose` keeps `deploy:`, `secrets:`/`configs:` and swarm port modes: the exported
 * file, loaded back, gives the same model (the round trip of test/unit/export-compose.test.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { exportCompose } from '../../src/definition/export-compose.js';
import { loadDefinition } from '../../src/definition/resolve.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-export-deploy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('round-trips deploy, secrets, configs and port modes', async () => {
  await writeFile(join(dir, 'token.txt'), 't');
  await writeFile(join(dir, 'app.conf'), 'c');
  await writeFile(
    join(dir, 'envctl.yaml'),
    `name: shop
services:
  web:
    image: shop/web:1
    ports: ["127.0.0.1:8080:3000", { target: 9090, published: 9090, mode: host }]
    secrets: [token, { source: token, target: /etc/token, uid: "100", mode: 0400 }]
    configs: [{ source: app_conf, target: /etc/app.conf, mode: "0440" }]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: { team: shop }
      update_config: { parallelism: 2, delay: 1m30s, order: start-first, failure_action: rollback, monitor: 500ms, max_failure_ratio: 0.25 }
      rollback_config: { parallelism: 1 }
      restart_policy: { condition: on-failure, delay: 2s, max_attempts: 3, window: 1m }
      placement: { constraints: ["node.role == manager"], preferences: [{ spread: node.labels.zone }], max_replicas_per_node: 2 }
      resources: { limits: { cpus: "0.25", memory: 128m, pids: 50 }, reservations: { cpus: 0.1, memory: 64m } }
  agent:
    image: shop/agent:1
    deploy: { mode: global }
secrets:
  token: { file: ./token.txt }
configs:
  app_conf: { file: ./app.conf, labels: { kind: app } }
`,
  );
  const load = { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} };
  // Beside the definition: the secret and config files stay inside the exported file's folder.
  await exportCompose({ load, output: join(dir, 'exported.yaml') });
  const text = await readFile(join(dir, 'exported.yaml'), 'utf8');
  expect(text).toContain('mode: 0400');
  expect(text).toContain('delay: 1m30s');
  // Compose v1 has no pids limit: named in the header, not dropped silently.
  expect(text).toContain('# left out (Compose v1 does not know it): services.web.deploy.resources.limits.pids: 50');
  const original = await loadDefinition(load);
  const exported = await loadDefinition({ ...load, file: join(dir, 'exported.yaml') });
  const withoutPids = structuredClone(original.services.web!.deploy!);
  withoutPids.resources.limits.pids = undefined;
  expect(exported.services.web!.deploy).toEqual(withoutPids);
  for (const name of ['web', 'agent']) {
    for (const field of name === 'web' ? (['secrets', 'configs', 'ports'] as const) : (['deploy', 'secrets', 'configs', 'ports'] as const)) {
      expect({ name, field, value: exported.services[name]![field] }).toEqual({ name, field, value: original.services[name]![field] });
    }
  }
  expect(original.services.web!.deploy?.resources.limits.nanoCpus).toBe(250_000_000);
  expect(original.services.web!.secrets?.[1]?.mode).toBe(0o400);
  expect({ ...exported.secrets }).toEqual({ ...original.secrets });
  expect({ ...exported.configs }).toEqual({ ...original.configs });
});
