/** `envctl status`: each service of the definition (and any orphan) with what the engine says about it. */
import type { EnvironmentModel } from '../definition/model.js';
import { environmentLabels, LABEL } from '../labels.js';
import type { Engine } from './engine.js';
import { engineHonoursStartInterval, needsStartIntervalProbe } from './readiness.js';

export interface ServiceStatusRow {
  service: string;
  /** `not created` when the definition has it but the engine does not. */
  state: string;
  health: string | undefined;
  image: string | undefined;
  ports: string[];
  /** Seconds since the container started, when running. */
  uptimeSeconds: number | undefined;
  container: string | undefined;
  /** A release's container (`canary`, `baseline`, `proxy`), beside the service's own. */
  slot: string | undefined;
  orphan: boolean;
}

export interface StatusResult {
  project: string;
  env: string;
  services: ServiceStatusRow[];
}

export async function environmentStatus(model: EnvironmentModel, engine: Engine, now: () => number): Promise<StatusResult> {
  const info = await engine.ping();
  // An engine before API 1.44 ignores start_interval: `up` ran those probes itself, the engine's own status stays `starting` until its first probe, one interval after start.
  const lateProbe = (service: string, health: string | undefined) =>
    health === 'starting' && !engineHonoursStartInterval(info.apiVersion) && needsStartIntervalProbe(model.services[service]?.healthcheck) ? `starting (engine API ${info.apiVersion} ignores start_interval: its first probe is one interval after start)` : health;
  const containers = await engine.listContainers(environmentLabels(model.project, model.env));
  const rows: ServiceStatusRow[] = [];
  const names = [...Object.keys(model.services), ...new Set(containers.map((container) => container.service).filter((service) => !(service in model.services)))];
  for (const service of names) {
    const mine = containers.filter((container) => container.service === service);
    if (mine.length === 0) {
      rows.push({ service, state: 'not created', health: undefined, image: model.services[service]?.image, ports: [], uptimeSeconds: undefined, container: undefined, slot: undefined, orphan: false });
      continue;
    }
    const details = await Promise.all(mine.map((container) => (container.state === 'running' ? engine.inspectContainer(container.id) : undefined)));
    for (const [index, container] of mine.entries()) {
      const started = details[index]?.startedAt;
      rows.push({
        service,
        state: container.state,
        health: lateProbe(service, container.health),
        image: container.image,
        ports: container.ports.map((port) => `${port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp}:${port.published}->${port.target}/${port.protocol}`),
        uptimeSeconds: started ? Math.max(0, Math.round((now() - Date.parse(started)) / 1000)) : undefined,
        container: container.name,
        slot: container.labels[LABEL.slot],
        orphan: !model.declaredServices.includes(service),
      });
    }
  }
  return { project: model.project, env: model.env, services: rows };
}

export function renderStatusText(status: StatusResult): string {
  const header = ['SERVICE', 'STATE', 'HEALTH', 'UPTIME', 'PORTS', 'IMAGE'];
  const rows = status.services.map((row) => [
    `${row.service}${row.slot ? ` (${row.slot})` : ''}${row.orphan ? ' (orphan)' : ''}`,
    row.state,
    row.health ?? '-',
    row.uptimeSeconds === undefined ? '-' : formatDuration(row.uptimeSeconds),
    row.ports.join(', ') || '-',
    row.image ?? '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor((seconds % 86_400) / 3600)).padStart(2, '0')}h`;
}
