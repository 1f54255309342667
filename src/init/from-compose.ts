/**
 * `envctl init --from-compose FILE`: what envctl adds on top of a Compose file that loaded. The
 * Compose file stays as it is (docker-compose keeps reading it); the new envctl.yaml includes it and
 * declares the pipeline, guessed from the services: ports to check, HTTP services to smoke-test, and
 * a release only when one of them speaks HTTP. Pure: the loaded model in, the definition text out.
 */
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';

/** Well-known ports of protocols that are not HTTP (databases, brokers, TLS): never guessed as HTTP. */
const NON_HTTP_PORTS = new Set([22, 25, 53, 443, 1433, 1521, 2181, 3306, 4222, 5432, 5672, 6379, 8443, 9042, 9092, 11211, 26257, 27017]);
/** Images of data stores and brokers: infrastructure, not the application to release. */
const DATA_STORE_IMAGE = /(postgres|mysql|mariadb|redis|valkey|mongo|rabbitmq|memcached|kafka|zookeeper|elasticsearch|opensearch|cassandra|nats|etcd|minio|clickhouse|mssql|oracle)/i;
/** The URL path a healthcheck probes, e.g. `curl -f http://localhost:3000/healthz`. */
const HEALTH_URL = /https?:\/\/[^/\s"']+(\/[^\s"'|;&]*)?/;

export interface HttpService {
  service: string;
  /** The container port HTTP is served on. */
  port: number;
  /** Path from the healthcheck's URL, when it probes one (an `http` staging check expects 200 there). */
  healthPath: string | undefined;
  /** Why it counts as HTTP, for the generated comment. */
  reason: string;
}

/** Services that look like HTTP servers, in definition order. A guess, said as such in the output. */
export function httpServices(model: EnvironmentModel): HttpService[] {
  return Object.values(model.services).flatMap((service) => {
    const found = httpOf(service);
    return found ? [found] : [];
  });
}

function httpOf(service: ServiceModel): HttpService | undefined {
  const tcp = service.ports.filter((port) => port.protocol === 'tcp');
  const probe = service.healthcheck && !service.healthcheck.disabled ? service.healthcheck.test.join(' ').match(HEALTH_URL) : null;
  if (probe) {
    const port = Number(/:(\d+)/.exec(probe[0].replace(/^https?:\/\//, ''))?.[1] ?? tcp[0]?.target ?? 80);
    return { service: service.name, port, healthPath: probe[1] ?? '/', reason: 'its healthcheck probes a URL' };
  }
  if (DATA_STORE_IMAGE.test(service.image ?? '')) return undefined;
  const port = tcp.find((candidate) => !NON_HTTP_PORTS.has(candidate.target));
  return port ? { service: service.name, port: port.target, healthPath: undefined, reason: `it publishes port ${port.target}` } : undefined;
}

export interface ComposeDefinitionOptions {
  /** Project name for `name:`. */
  name: string;
  /** The Compose file, relative to the new definition's folder (`/`-separated). */
  include: string;
  /** `pipeline.build.run`: the project's own unit tests when known (e.g. `npm test`). */
  buildCommand: string[] | undefined;
  /** Where the smoke test lives, relative to the definition's folder. */
  smokeTest: string;
}

/** The text of the new envctl.yaml. */
export function composeDefinitionText(model: EnvironmentModel, options: ComposeDefinitionOptions): string {
  const http = httpServices(model);
  const checks: Array<Record<string, unknown>> = [];
  for (const service of Object.values(model.services)) {
    for (const port of service.ports.filter((candidate) => candidate.protocol === 'tcp')) checks.push({ port: `${service.name}:${port.target}` });
    for (const mount of service.mounts) {
      if (mount.type === 'volume' && mount.source) checks.push({ mount: `${service.name}:${mount.target}`, mode: mount.readOnly ? 'ro' : 'rw' });
    }
  }
  for (const service of http) {
    if (service.healthPath !== undefined) checks.push({ http: `${service.service}:${service.healthPath}`, port: service.port, status: 200 });
  }
  const release = http.find((service) => model.services[service.service]!.ports.length > 0);

  const pipeline: Record<string, unknown> = {
    build: options.buildCommand
      ? { run: options.buildCommand, timeout: '5m' }
      : { run: ['node', '-e', "console.log('no unit tests yet: set pipeline.build.run in envctl.yaml')"] },
    integration: {
      run: ['node', '--test', options.smokeTest],
      ...(http.length > 0 ? { environment: { ENVCTL_SMOKE_HTTP: http.map((service) => service.service).join(',') } } : {}),
      timeout: '5m',
    },
    staging: { checks },
    ...(release ? { release: { service: release.service, steps: [10, 25, 50] } } : {}),
  };
  const doc = new Document({ name: options.name, include: [options.include], pipeline });
  // Short lists (commands, steps) read best on one line.
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
    Map(_key, node, path) {
      const parent = path.at(-1);
      if (isSeq(parent)) node.flow = true;
    },
  });
  const services = Object.keys(model.services);
  const header = [
    `Made by \`envctl init --from-compose ${options.include}\`. The Compose file stays as it is`,
    '(docker-compose keeps reading it); this file includes it and adds what envctl needs: the pipeline.',
    `Services: ${services.join(', ') || 'none'}.`,
    http.length > 0
      ? `HTTP (guessed): ${http.map((service) => `${service.service} (${service.reason})`).join('; ')}.`
      : 'No service looks like an HTTP server, so there is no release stage (see pipeline.release in the envctl README).',
  ];
  doc.commentBefore = header.map((line) => ` ${line}`).join('\n');
  const stageComments: Record<string, string> = {
    build: 'After the images are built: unit tests on the host.',
    integration: 'On a fresh copy of every service (own network, engine-chosen ports): the smoke tests.',
    staging: `On the long-lived ${options.name}-staging environment: published ports, volumes, health URLs.`,
    release: `Against production (\`envctl up\`): a judged canary of ${release?.service ?? ''} at 10%, 25%, 50%.`,
  };
  const stages = doc.get('pipeline', true);
  if (isMap(stages)) {
    for (const pair of stages.items) {
      const comment = isScalar(pair.key) ? stageComments[String(pair.key.value)] : undefined;
      if (comment && isScalar(pair.key)) pair.key.commentBefore = ` ${comment}`;
    }
  }
  return doc.toString({ lineWidth: 0 });
}
