/**
 * `envctl export kubernetes`: every emitted object is checked against the Kubernetes OpenAPI schema
 * (kubernetes-models) or the Argo Rollouts CRD schema, and the mapping is asserted field by field
 * on the demo and on small fixture definitions.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtImageRef, hashBuildInputs } from '../../src/definition/build-inputs.js';
import type { EnvironmentModel } from '../../src/definition/model.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { EnvctlError } from '../../src/errors.js';
import { exportKubernetes } from '../../src/export/kubernetes.js';
import { probeAction, toKubernetesObjects, type KubernetesExport, type KubernetesObject, type RolloutsMode } from '../../src/export/kubernetes-objects.js';
import { assertValidObjects, schemaProblems } from '../../src/export/kubernetes-validate.js';

const DEMO = fileURLToPath(new URL('../../environments/demo/envctl.yaml', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-k8s-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadFixture(text: string, env?: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, text);
  return loadDefinition({ cwd: dir, file, env, processEnv: {} });
}

function mapModel(model: EnvironmentModel, rollouts: RolloutsMode = 'argo'): KubernetesExport {
  const exported = toKubernetesObjects({ model, builtImages: {}, rollouts });
  for (const entry of exported.entries) expect({ object: `${entry.object.kind} ${entry.object.metadata?.name}`, problems: schemaProblems(entry.object) }).toEqual({ object: `${entry.object.kind} ${entry.object.metadata?.name}`, problems: [] });
  return exported;
}

function find<K extends KubernetesObject['kind']>(exported: KubernetesExport, kind: K, name: string): Extract<KubernetesObject, { kind: K }> {
  const entry = exported.entries.find((candidate) => candidate.object.kind === kind && candidate.object.metadata?.name === name);
  if (!entry) throw new Error(`no ${kind} ${name} in ${exported.entries.map((e) => `${e.object.kind}/${e.object.metadata?.name}`).join(', ')}`);
  return entry.object as Extract<KubernetesObject, { kind: K }>;
}

function kinds(exported: KubernetesExport): string[] {
  return exported.entries.map((entry) => `${entry.object.kind}/${entry.object.metadata?.name}`);
}

/** The one container of a Deployment, Job or Rollout. */
function container(workload: unknown): IContainer {
  return (workload as { spec: { template: { spec: { containers: IContainer[] } } } }).spec.template.spec.containers[0]!;
}

// The demo's build contexts are hashed (as `up` does): seconds on a loaded machine.
describe('export kubernetes: the demo', { timeout: 60_000 }, () => {
  const load = () => ({ cwd: dir, file: DEMO, processEnv: {} as Record<string, string> });

  it('maps every service, validates every object and renders a stream that parses back to the same objects', async () => {
    const result = await exportKubernetes({ load: load(), rollouts: 'argo' });
    const model = await loadDefinition(load());
    const exported = toKubernetesObjects({ model, builtImages: { web: 'demo-web:x', worker: 'demo-worker:x' }, rollouts: 'argo' });
    for (const entry of exported.entries) expect(schemaProblems(entry.object)).toEqual([]);

    const documents = parseAllDocuments(result.manifests) as Array<{ toJS(): KubernetesObject; errors: unknown[] }>;
    const objects = documents.map((document) => document.toJS());
    expect(documents.flatMap((document) => document.errors)).toEqual([]);
    for (const object of objects) expect(schemaProblems(object)).toEqual([]);
    expect(result.manifests).not.toMatch(/[&*]a\d/);
    // Which services have ConfigMaps depends on their variables; the rest of the list is fixed.
    expect(objects.map((object) => `${object.kind}/${object.metadata?.name}`).filter((name) => !/^(ConfigMap|Secret)\//.test(name))).toEqual([
      'PersistentVolumeClaim/dbdata',
      'Service/cache', 'Service/db', 'Service/web', 'Service/worker',
      'Deployment/cache', 'Deployment/db', 'Deployment/worker',
      'AnalysisTemplate/web-canary', 'Rollout/web',
    ]);
    expect(result.objects.map((object) => `${object.kind}/${object.name}`)).toEqual(objects.map((object) => `${object.kind}/${object.metadata?.name}`));
    // Every reference resolves, and every ConfigMap, Secret and claim is used.
    const names = new Set(objects.map((object) => `${object.kind}/${object.metadata?.name}`));
    const referenced = new Set<string>();
    for (const object of objects.filter((candidate) => candidate.kind === 'Deployment' || candidate.kind === 'Rollout')) {
      for (const from of container(object).envFrom ?? []) referenced.add(from.configMapRef ? `ConfigMap/${from.configMapRef.name}` : `Secret/${from.secretRef!.name}`);
      for (const volume of (object as unknown as { spec: { template: { spec: { volumes?: Array<{ persistentVolumeClaim?: { claimName: string } }> } } } }).spec.template.spec.volumes ?? []) {
        if (volume.persistentVolumeClaim) referenced.add(`PersistentVolumeClaim/${volume.persistentVolumeClaim.claimName}`);
      }
    }
    expect([...referenced].sort()).toEqual([...names].filter((name) => /^(ConfigMap|Secret|PersistentVolumeClaim)\//.test(name)).sort());

    // Built images carry the tag `up` would give them.
    const web = objects.find((object) => object.kind === 'Rollout')!;
    const { digest } = await hashBuildInputs(model.services.web!.build!);
    expect(container(web).image).toBe(builtImageRef(model.imageProject, 'web', digest));
    expect(result.manifests).toMatch(/^# Images built locally by envctl \(web, worker\).*must be pushed to a registry/m);

    // Credentials in a Secret, the rest in a ConfigMap; both reach the container.
    const secret = objects.find((object) => object.kind === 'Secret' && object.metadata?.name === 'web-env') as { stringData: Record<string, string> };
    const config = objects.find((object) => object.kind === 'ConfigMap' && object.metadata?.name === 'web-env') as { data: Record<string, string> };
    expect(Object.keys(secret.stringData)).toEqual(['DATABASE_URL']);
    expect(config.data).toMatchObject({ PORT: '3000', REDIS_URL: 'redis://cache:6379', LOG_LEVEL: 'info' });
    expect(config.data).not.toHaveProperty('DATABASE_URL');
    expect(container(web).envFrom).toEqual([{ configMapRef: { name: 'web-env' } }, { secretRef: { name: 'web-env' } }]);

    // The published port becomes a ClusterIP port, the publication an annotation; db (no ports) is headless.
    const webService = objects.find((object) => object.kind === 'Service' && object.metadata?.name === 'web') as unknown as { spec: Record<string, unknown>; metadata: { annotations: Record<string, string> } };
    expect(webService.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'tcp-3000', port: 3000, targetPort: 3000, protocol: 'TCP' }] });
    expect(webService.metadata.annotations['envctl.dev/published-ports']).toBe('127.0.0.1:8080->3000/tcp');
    const dbService = objects.find((object) => object.kind === 'Service' && object.metadata?.name === 'db') as unknown as { spec: Record<string, unknown> };
    expect(dbService.spec.clusterIP).toBe('None');

    // db's named volume is a claim; its Deployment recreates (a ReadWriteOnce claim is not shared by two pods).
    const db = objects.find((object) => object.kind === 'Deployment' && object.metadata?.name === 'db') as never as { spec: { strategy: unknown; template: { spec: { volumes: unknown[] } } } };
    expect(db.spec.strategy).toEqual({ type: 'Recreate' });
    expect(db.spec.template.spec.volumes).toEqual([{ name: 'volume-dbdata', persistentVolumeClaim: { claimName: 'dbdata' } }]);
    expect(container(db).volumeMounts).toEqual([{ name: 'volume-dbdata', mountPath: '/var/lib/postgresql/data' }]);
  });

  it('is deterministic, and follows the overlay', async () => {
    const first = await exportKubernetes({ load: load(), rollouts: 'argo' });
    const second = await exportKubernetes({ load: load(), rollouts: 'argo' });
    expect(second.manifests).toBe(first.manifests);
    const local = await exportKubernetes({ load: { ...load(), env: 'local' }, rollouts: 'argo' });
    expect(local.manifests).toContain('LOG_LEVEL: debug');
    expect(local.manifests).toContain('envctl.dev/env: local');
    // No machine-specific path in the text: the definition is named relative to where the command ran.
    expect(first.manifests.split('\n')[0]).toBe(`# Exported by envctl from ${relative(dir, DEMO)} (env default), project demo.`);
  });

  it('--registry prefixes built images only', async () => {
    const result = await exportKubernetes({ load: load(), rollouts: 'argo', registry: 'registry.example.com/team' });
    expect(result.manifests).toMatch(/image: registry\.example\.com\/team\/demo-web:[0-9a-f]{12}\n/);
    expect(result.manifests).toContain('image: envctl/base-postgres:15\n');
    expect(result.manifests).toMatch(/docker push registry\.example\.com\/team\/demo-worker:[0-9a-f]{12}/);
    await expect(exportKubernetes({ load: load(), rollouts: 'argo', registry: 'not a registry' })).rejects.toMatchObject({ code: 'BAD_FLAG', exitCode: 2 });
  });
});

describe('export kubernetes: probes from healthchecks', () => {
  it.each([
    { test: ['CMD', 'pg_isready', '-U', 'app'], action: { exec: { command: ['pg_isready', '-U', 'app'] } } },
    { test: ['CMD-SHELL', 'test -f /tmp/ready && echo ok'], action: { exec: { command: ['/bin/sh', '-c', 'test -f /tmp/ready && echo ok'] } } },
    { test: ['CMD', 'curl', '-f', 'http://localhost:8080/healthz'], action: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' } } },
    { test: ['CMD-SHELL', 'curl -fsS http://127.0.0.1:3000/ready || exit 1'], action: { httpGet: { path: '/ready', port: 3000, scheme: 'HTTP' } } },
    { test: ['CMD', 'wget', '-q', '--spider', 'https://localhost/'], action: { httpGet: { path: '/', port: 443, scheme: 'HTTPS' } } },
    // Without --fail, curl succeeds on a 500: an HTTP probe would be a stricter check, so it stays a command.
    { test: ['CMD', 'curl', 'http://localhost:8080/healthz'], action: { exec: { command: ['curl', 'http://localhost:8080/healthz'] } } },
    { test: ['CMD', 'curl', '-f', 'http://other-host:8080/'], action: { exec: { command: ['curl', '-f', 'http://other-host:8080/'] } } },
    { test: ['CMD-SHELL', 'curl -f http://localhost:$PORT/'], action: { exec: { command: ['/bin/sh', '-c', 'curl -f http://localhost:$PORT/'] } } },
  ])('$test', ({ test, action }) => {
    expect(probeAction(test)).toEqual(action);
  });

  it('maps interval, timeout, retries and start_period; a disabled check has no probes; a staging http check gives readiness', async () => {
    const model = await loadFixture(`
name: probes
services:
  api:
    image: app:1
    ports: ["8080:80"]
    healthcheck: { test: ["CMD", "check"], interval: 1500ms, timeout: 2s, retries: 4, start_period: 20s, start_interval: 2s }
  quiet:
    image: app:1
    healthcheck: { disable: true }
  site:
    image: app:1
    ports: ["8081:8000"]
pipeline:
  staging:
    checks: [{ http: "site:/up", status: 200 }]
`);
    const exported = mapModel(model);
    const api = container(find(exported, 'Deployment', 'api'));
    const timing = { periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 4 };
    expect(api.readinessProbe).toEqual({ exec: { command: ['check'] }, ...timing });
    expect(api.livenessProbe).toEqual({ exec: { command: ['check'] }, ...timing });
    // 20 s of tries every 2 s, then the 4 failures that count in Docker.
    expect(api.startupProbe).toEqual({ exec: { command: ['check'] }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 14 });
    expect(exported.warnings).toContainEqual({ service: 'api', key: 'services.api.healthcheck.interval', message: expect.stringContaining('rounded up to 2s') });

    const quiet = container(find(exported, 'Deployment', 'quiet'));
    expect(quiet).not.toHaveProperty('readinessProbe');
    expect(quiet).not.toHaveProperty('livenessProbe');

    const site = container(find(exported, 'Deployment', 'site'));
    expect(site.readinessProbe).toEqual({ httpGet: { path: '/up', port: 8000 }, periodSeconds: 10, failureThreshold: 3 });
    expect(site).not.toHaveProperty('livenessProbe');
  });
});

describe('export kubernetes: volumes', () => {
  it('named volumes become claims, anonymous and tmpfs become emptyDir, bind mounts are warnings', async () => {
    const model = await loadFixture(`
name: vols
services:
  app:
    image: app:1
    volumes:
      - data:/data
      - ./src:/app/src
      - /cache
      - { type: tmpfs, target: /run/scratch, tmpfs: { size: 64m } }
      - { type: volume, source: shared, target: /shared, read_only: true }
      - { type: volume, source: old, target: /old }
  other:
    image: app:1
    volumes: ["shared:/shared"]
volumes:
  data: {}
  shared: { driver: nfs }
  old: { external: true, name: legacy-claim }
`);
    const exported = mapModel(model);
    expect(kinds(exported).filter((kind) => kind.startsWith('PersistentVolumeClaim'))).toEqual(['PersistentVolumeClaim/data', 'PersistentVolumeClaim/shared']);
    expect(find(exported, 'PersistentVolumeClaim', 'data').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
    const app = find(exported, 'Deployment', 'app');
    expect(app.spec!.template.spec!.volumes).toEqual([
      { name: 'volume-data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'anonymous-2', emptyDir: {} },
      { name: 'tmpfs-3', emptyDir: { medium: 'Memory', sizeLimit: String(64 * 1024 * 1024) } },
      { name: 'volume-shared', persistentVolumeClaim: { claimName: 'shared' } },
      { name: 'volume-old', persistentVolumeClaim: { claimName: 'legacy-claim' } },
    ]);
    expect(container(app).volumeMounts).toEqual([
      { name: 'volume-data', mountPath: '/data' },
      { name: 'anonymous-2', mountPath: '/cache' },
      { name: 'tmpfs-3', mountPath: '/run/scratch' },
      { name: 'volume-shared', mountPath: '/shared', readOnly: true },
      { name: 'volume-old', mountPath: '/old' },
    ]);
    expect(exported.warnings).toEqual(
      expect.arrayContaining([
        { service: 'app', key: 'services.app.volumes[1]', message: expect.stringContaining(`bind mount of the host path ${join(dir, 'src')} at /app/src`) },
        { service: undefined, key: 'volumes.shared.driver', message: expect.stringContaining('storageClassName') },
        { service: 'app', key: 'volumes.shared', message: expect.stringContaining('shared by app, other') },
      ]),
    );
  });
});

describe('export kubernetes: release', () => {
  const RELEASE = `
name: rel
services:
  web:
    image: web:2
    ports: ["8080:3000"]
    healthcheck: { test: ["CMD", "true"], interval: 5s }
pipeline:
  release:
    service: web
    steps: [5, 20, 40]
    stepMinDuration: 45s
    gates: { beforeStep: [20], beforePromote: manual }
    onRegression: pause
`;

  it('--rollouts argo: a Rollout with setWeight and pause per step, manual gates as indefinite pauses, and an analysis template', async () => {
    const exported = mapModel(await loadFixture(RELEASE));
    expect(kinds(exported)).not.toContain('Deployment/web');
    const rollout = find(exported, 'Rollout', 'web');
    expect(rollout.spec!.strategy!.canary!.steps).toEqual([
      { setWeight: 5 }, { pause: { duration: '45s' } },
      { pause: {} }, { setWeight: 20 }, { pause: { duration: '45s' } },
      { setWeight: 40 }, { pause: {} },
    ]);
    expect(rollout.spec!.strategy!.canary!.analysis).toEqual({ templates: [{ templateName: 'web-canary' }], startingStep: 1, args: [{ name: 'service-name', value: 'web' }] });
    expect(rollout.spec!.selector).toEqual({ matchLabels: find(exported, 'Service', 'web').spec!.selector });
    expect(container(rollout).readinessProbe).toMatchObject({ exec: { command: ['true'] }, periodSeconds: 5 });
    const template = find(exported, 'AnalysisTemplate', 'web-canary');
    expect(template.spec.metrics!.map((metric) => metric.name)).toEqual(['error-rate']);
    expect(exported.warnings).toContainEqual({ service: 'web', key: 'pipeline.release.onRegression', message: expect.stringContaining('aborts the rollout') });
  });

  it('--rollouts none: a plain Deployment, and a warning that the steps are not exported', async () => {
    const exported = mapModel(await loadFixture(RELEASE), 'none');
    expect(kinds(exported)).toContain('Deployment/web');
    expect(kinds(exported).some((kind) => kind.startsWith('Rollout') || kind.startsWith('AnalysisTemplate'))).toBe(false);
    expect(exported.warnings).toContainEqual({ service: 'web', key: 'pipeline.release', message: expect.stringContaining('5%, 20%, 40%') });
  });
});

describe('export kubernetes: what else maps, and what is reported', () => {
  it('commands, users, grace periods, one-shot Jobs, replicas; names made valid; unmappable keys are warnings', async () => {
    const model = await loadFixture(`
name: misc
services:
  my_api:
    image: api:1
    entrypoint: ["tini", "--"]
    command: ["serve", "--port", "80"]
    working_dir: /srv
    user: "1000:1001"
    expose: ["80", "9000-9001/udp"]
    stop_grace_period: 1m
    stop_signal: SIGQUIT
    labels: { "com.example/team": shop, "bad key!": x }
    environment: { "ODD KEY": "1", API_TOKEN: t0k, MODE: fast }
    networks: { back: { aliases: [api-internal] } }
    depends_on: { migrate: { condition: service_completed_successfully } }
  migrate:
    image: api:1
    command: ["migrate"]
    restart: on-failure:3
    user: app
    networks: [back]
networks:
  back: { internal: true }
`);
    const exported = toKubernetesObjects({ model: { ...model, services: { ...model.services, my_api: { ...model.services.my_api!, deploy: { replicas: 3 } } as never } }, builtImages: {}, rollouts: 'argo' });
    assertValidObjects(exported.entries.map((entry) => entry.object));
    const api = find(exported, 'Deployment', 'my-api');
    expect(api.spec!.replicas).toBe(3);
    expect(api.metadata!.annotations).toEqual({ 'envctl.dev/depends-on': 'migrate (service_completed_successfully)' });
    expect(container(api)).toMatchObject({ command: ['tini', '--'], args: ['serve', '--port', '80'], workingDir: '/srv', securityContext: { runAsUser: 1000, runAsGroup: 1001 } });
    expect(container(api).ports).toEqual([
      { name: 'tcp-80', containerPort: 80, protocol: 'TCP' },
      { name: 'udp-9000', containerPort: 9000, protocol: 'UDP' },
      { name: 'udp-9001', containerPort: 9001, protocol: 'UDP' },
    ]);
    expect(api.spec!.template.spec!.terminationGracePeriodSeconds).toBe(60);
    expect(api.spec!.template.metadata!.annotations).toMatchObject({ 'com.example/team': 'shop' });
    expect(find(exported, 'Service', 'my-api').spec!.ports!.map((port) => port.name)).toEqual(['tcp-80', 'udp-9000', 'udp-9001']);

    expect(find(exported, 'ConfigMap', 'my-api-env').data).toEqual({ MODE: 'fast' });
    expect(find(exported, 'Secret', 'my-api-env').stringData).toEqual({ API_TOKEN: 't0k' });
    const job = find(exported, 'Job', 'migrate');
    expect(job.spec!.backoffLimit).toBe(3);
    expect(job.spec!.template.spec!.restartPolicy).toBe('OnFailure');
    expect(kinds(exported)).not.toContain('Service/migrate');

    expect(exported.warnings.map((warning) => warning.key).sort()).toEqual([
      'networks.back.internal',
      'services.migrate.user',
      'services.my_api',
      'services.my_api.environment.ODD KEY',
      'services.my_api.labels.bad key!',
      'services.my_api.networks.back.aliases',
      'services.my_api.stop_signal',
    ]);
    expect(exported.warnings.every((warning) => warning.key.startsWith('networks.') || warning.service !== undefined)).toBe(true);
  });

  it('refuses names Kubernetes cannot take, and names that collide', async () => {
    const colliding = await loadFixture('services:\n  a_b: { image: x }\n  a.b: { image: x }\n');
    expect(() => toKubernetesObjects({ model: colliding, builtImages: {}, rollouts: 'argo' })).toThrow(/both become "a-b"/);
    const clash = withDeploy(await loadFixture('name: clash\nservices:\n  config: { image: x, environment: { A: "1" } }\n'), 'config', {});
    expect(() => toKubernetesObjects({ model: { ...clash, configs: { env: { key: 'env', file: '/f', labels: {} } } }, builtImages: {}, rollouts: 'argo', files: { '/f': Buffer.from('x') } })).toThrow(/two objects would both be ConfigMap config-env/);
    const digit = await loadFixture('services:\n  9lives: { image: x }\n');
    expect(() => toKubernetesObjects({ model: digit, builtImages: {}, rollouts: 'argo' })).toThrow(expect.objectContaining({ code: 'KUBERNETES_NAME', exitCode: 2 }));
  });

  it('the schema check fails on an object Kubernetes would refuse, and nothing is written', async () => {
    const invalid = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'x', ports: [{ containerPort: 'http' }] }] } } } } as unknown as KubernetesObject;
    expect(schemaProblems(invalid)).toEqual(expect.arrayContaining([expect.stringMatching(/spec.*selector/), expect.stringMatching(/containerPort must be integer/)]));
    const badName = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Web_Env', labels: { tier: '-front' } } } as KubernetesObject;
    expect(schemaProblems(badName)).toEqual(['/metadata/name "Web_Env" is not a DNS-1123 subdomain', '/metadata/labels/tier "-front" is not a valid label value']);
    let error: unknown;
    try {
      assertValidObjects([invalid]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvctlError);
    expect(error).toMatchObject({ code: 'KUBERNETES_INVALID', exitCode: 1, message: expect.stringContaining('Deployment x does not match the Kubernetes schema') });
  });
});

/** A loaded model with `deploy:`, `secrets:` and `configs:` set as the definition's Swarm settings normalise them (definition/deploy-schema.ts). */
function withDeploy(model: EnvironmentModel, service: string, extra: Record<string, unknown>): EnvironmentModel {
  return { ...model, services: { ...model.services, [service]: { ...model.services[service]!, ...extra } as never } };
}

const NO_RESOURCES = { limits: {}, reservations: {} };
const NO_PLACEMENT = { constraints: [], preferences: [] };

describe('export kubernetes: deploy, secrets and configs', () => {
  it('replicas, resources, update order, placement and dnsrr map; the rest are warnings', async () => {
    const loaded = await loadFixture('name: dep\nservices:\n  api: { image: api:1, expose: ["80"] }\n  agent: { image: agent:1 }\n');
    const model = withDeploy(
      withDeploy(loaded, 'api', {
        deploy: {
          mode: 'replicated', replicas: 4, endpointMode: 'dnsrr', labels: { 'com.example/tier': 'front' },
          updateConfig: { parallelism: 2, delayMs: 10_000, failureAction: 'rollback', monitorMs: 5_000, maxFailureRatio: 0, order: 'start-first' },
          rollbackConfig: undefined, restartPolicy: { condition: 'on-failure', maxAttempts: 3 },
          placement: { constraints: ['node.labels.disk == ssd', 'node.platform.arch != arm64', 'node.role == manager'], preferences: ['node.labels.zone'], maxReplicasPerNode: undefined },
          resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 268_435_456, pids: 100 }, reservations: { nanoCpus: 250_000_000, memoryBytes: undefined } },
        },
      }),
      'agent',
      { deploy: { mode: 'global', replicas: undefined, labels: {}, resources: NO_RESOURCES, placement: NO_PLACEMENT } },
    );
    const exported = mapModel(model);
    const api = find(exported, 'Deployment', 'api');
    expect(api.spec!.replicas).toBe(4);
    expect(api.metadata!.annotations).toEqual({ 'com.example/tier': 'front' });
    expect(api.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } });
    expect(api.spec!.minReadySeconds).toBe(5);
    expect(container(api).resources).toEqual({ limits: { cpu: '500m', memory: '268435456' }, requests: { cpu: '250m' } });
    expect(api.spec!.template.spec!.affinity).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'kubernetes.io/arch', operator: 'NotIn', values: ['arm64'] }] }] } },
    });
    expect(find(exported, 'Service', 'api').spec).toMatchObject({ clusterIP: 'None', ports: [{ port: 80 }] });
    const agent = find(exported, 'DaemonSet', 'agent');
    expect(agent.spec!.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'agent', 'app.kubernetes.io/part-of': 'dep' } });
    expect(kinds(exported)).not.toContain('Deployment/agent');
    expect(exported.warnings.map((warning) => warning.key).sort()).toEqual([
      'services.api.deploy.placement.constraints[2]',
      'services.api.deploy.placement.preferences[0]',
      'services.api.deploy.resources.limits.pids',
      'services.api.deploy.restart_policy',
      'services.api.deploy.update_config.delay',
      'services.api.deploy.update_config.failure_action',
    ]);
  });

  it('from a definition as written: deploy, secrets and configs through the loader and the file reads', async () => {
    await writeFile(join(dir, 'api-key.txt'), 'k3y');
    await writeFile(join(dir, 'app.ini'), '[app]\nmode = fast\n');
    const model = await loadFixture(`
name: written
services:
  api:
    image: api:1
    ports: ["8080:80"]
    deploy:
      replicas: 3
      resources: { limits: { cpus: "1.5", memory: 512M }, reservations: { memory: 128M } }
      update_config: { parallelism: 1, order: start-first }
      placement: { constraints: ["node.labels.zone == eu-1"] }
    secrets: [api_key]
    configs: [{ source: app_ini, target: /etc/app.ini, mode: 0440 }]
secrets:
  api_key: { file: ./api-key.txt }
configs:
  app_ini: { file: ./app.ini }
`);
    const result = await exportKubernetes({ load: { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} }, rollouts: 'argo' });
    const objects = parseAllDocuments(result.manifests).map((document) => document.toJS() as KubernetesObject);
    for (const object of objects) expect(schemaProblems(object)).toEqual([]);
    expect(objects.map((object) => `${object.kind}/${object.metadata?.name}`)).toEqual(['ConfigMap/config-app-ini', 'Secret/secret-api-key', 'Service/api', 'Deployment/api']);
    const api = objects[3] as unknown as { spec: { replicas: number; strategy: unknown; template: { spec: { affinity: unknown } } } };
    expect(api.spec.replicas).toBe(3);
    expect(api.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(container(api).resources).toEqual({ limits: { cpu: '1500m', memory: String(512 * 1024 * 1024) }, requests: { memory: String(128 * 1024 * 1024) } });
    expect(JSON.stringify(api.spec.template.spec.affinity)).toContain('{"key":"zone","operator":"In","values":["eu-1"]}');
    expect(objects[1]).toMatchObject({ stringData: { api_key: 'k3y' } });
    expect(objects[0]).toMatchObject({ data: { app_ini: '[app]\nmode = fast\n' } });
    expect(container(api).volumeMounts).toEqual([
      { name: 'secret-api-key', mountPath: model.services.api!.secrets![0]!.target, subPath: 'api_key', readOnly: true },
      { name: 'config-app-ini', mountPath: '/etc/app.ini', subPath: 'app_ini', readOnly: true },
    ]);
    expect(container(api).volumeMounts![0]!.mountPath).toBe('/run/secrets/api_key');
  });

  it('secrets and configs become Secrets and ConfigMaps mounted at their targets', async () => {
    const loaded = await loadFixture('name: files\nservices:\n  app: { image: app:1 }\n');
    const model = {
      ...withDeploy(loaded, 'app', {
        secrets: [{ source: 'db_password', target: '/run/secrets/db_password', uid: '100', gid: undefined, mode: 0o400 }],
        configs: [{ source: 'nginx.conf', target: '/etc/nginx/nginx.conf', uid: undefined, gid: undefined, mode: undefined }, { source: 'logo', target: '/srv/logo.png', uid: undefined, gid: undefined, mode: undefined }],
      }),
      secrets: { db_password: { key: 'db_password', file: '/defs/db_password.txt', labels: {} } },
      configs: { 'nginx.conf': { key: 'nginx.conf', file: '/defs/nginx.conf', labels: {} }, logo: { key: 'logo', file: '/defs/logo.png', labels: {} } },
    } as EnvironmentModel;
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]);
    const files = { '/defs/db_password.txt': Buffer.from('s3cret\n'), '/defs/nginx.conf': Buffer.from('worker_processes 1;\n'), '/defs/logo.png': png };
    const exported = toKubernetesObjects({ model, builtImages: {}, rollouts: 'argo', files });
    assertValidObjects(exported.entries.map((entry) => entry.object));
    expect(find(exported, 'Secret', 'secret-db-password')).toMatchObject({ type: 'Opaque', stringData: { db_password: 's3cret\n' } });
    expect(find(exported, 'ConfigMap', 'config-nginx-conf')).toMatchObject({ data: { 'nginx.conf': 'worker_processes 1;\n' } });
    expect(find(exported, 'ConfigMap', 'config-logo')).toMatchObject({ binaryData: { logo: png.toString('base64') } });
    const app = find(exported, 'Deployment', 'app');
    expect(app.spec!.template.spec!.volumes).toEqual([
      { name: 'secret-db-password', secret: { secretName: 'secret-db-password', items: [{ key: 'db_password', path: 'db_password', mode: 0o400 }] } },
      { name: 'config-nginx-conf', configMap: { name: 'config-nginx-conf', items: [{ key: 'nginx.conf', path: 'nginx.conf' }] } },
      { name: 'config-logo', configMap: { name: 'config-logo', items: [{ key: 'logo', path: 'logo' }] } },
    ]);
    expect(container(app).volumeMounts).toEqual([
      { name: 'secret-db-password', mountPath: '/run/secrets/db_password', subPath: 'db_password', readOnly: true },
      { name: 'config-nginx-conf', mountPath: '/etc/nginx/nginx.conf', subPath: 'nginx.conf', readOnly: true },
      { name: 'config-logo', mountPath: '/srv/logo.png', subPath: 'logo', readOnly: true },
    ]);
    expect(exported.warnings).toEqual([{ service: 'app', key: 'services.app.secrets[0].uid', message: expect.stringContaining('mounts the file as root') }]);
    expect(() => toKubernetesObjects({ model, builtImages: {}, rollouts: 'argo', files: {} })).toThrow(expect.objectContaining({ code: 'KUBERNETES_FILE' }));
  });
});

describe('export kubernetes: --out DIR', () => {
  it('writes one file per object, and refuses to replace any without --force', async () => {
    await writeFile(join(dir, 'envctl.yaml'), 'name: out\nservices:\n  app: { image: app:1, environment: { A: "1" } }\n');
    const load = { cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} };
    const first = await exportKubernetes({ load, outDir: 'k8s', rollouts: 'argo' });
    expect((await readdir(join(dir, 'k8s'))).sort()).toEqual(['configmap-app-env.yaml', 'deployment-app.yaml', 'service-app.yaml']);
    expect(first.objects.map((object) => object.file)).toEqual([join(dir, 'k8s', 'configmap-app-env.yaml'), join(dir, 'k8s', 'service-app.yaml'), join(dir, 'k8s', 'deployment-app.yaml')]);
    const deployment = await readFile(join(dir, 'k8s', 'deployment-app.yaml'), 'utf8');
    expect(schemaProblems(parseAllDocuments(deployment)[0]!.toJS() as KubernetesObject)).toEqual([]);

    await writeFile(join(dir, 'k8s', 'service-app.yaml'), 'keep me\n');
    await writeFile(join(dir, 'envctl.yaml'), 'name: out\nservices:\n  app: { image: app:2, environment: { A: "1" } }\n');
    await expect(exportKubernetes({ load, outDir: 'k8s', rollouts: 'argo' })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', exitCode: 2 });
    expect(await readFile(join(dir, 'k8s', 'service-app.yaml'), 'utf8')).toBe('keep me\n');
    expect(await readFile(join(dir, 'k8s', 'deployment-app.yaml'), 'utf8')).toBe(deployment);

    const forced = await exportKubernetes({ load, outDir: 'k8s', rollouts: 'argo', force: true });
    expect(await readFile(join(dir, 'k8s', 'deployment-app.yaml'), 'utf8')).toContain('image: app:2');
    expect(forced.warnings).toEqual([]);

    // An object that is gone leaves its file of the earlier export: named, not deleted; a file of the user's is left alone silently.
    await writeFile(join(dir, 'envctl.yaml'), 'name: out\nservices:\n  app: { image: app:2 }\n');
    await writeFile(join(dir, 'k8s', 'ingress.yaml'), 'kind: Ingress\n');
    const shrunk = await exportKubernetes({ load, outDir: 'k8s', rollouts: 'argo', force: true });
    expect(shrunk.warnings).toEqual([{ service: undefined, key: 'configmap-app-env.yaml', message: expect.stringContaining('earlier export') }]);
    expect((await readdir(join(dir, 'k8s'))).sort()).toEqual(['configmap-app-env.yaml', 'deployment-app.yaml', 'ingress.yaml', 'service-app.yaml']);
  });
});
