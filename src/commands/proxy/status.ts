import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import type { EnvironmentModel } from '../../definition/model.js';
import { EnvironmentError, UsageError } from '../../errors.js';
import { createAdminClient, type AdminClient, type ProxyAdminStatus } from '../../proxy/admin-client.js';
import { formatWeights } from '../../proxy/routing.js';
import { ARMS } from '../../proxy/types.js';
import { findRelease } from '../../release/release.js';
import { listReleases, type ReleaseState, type ReleaseStatus } from '../../release/store.js';

/** `--release ID` and the definition flags: what every `proxy` command takes. */
export const proxyFlags = {
  ...EnvctlCommand.definitionFlags,
  release: Flags.string({ description: 'release id (default: the latest release of the definition’s release service that has a proxy)', helpValue: 'ID' }),
};

/** A release whose proxy is there, and the client of its admin socket. */
export interface ReleaseProxy {
  release: ReleaseState;
  /** The proxy's data port on this machine. */
  url: string;
  admin: AdminClient;
}

/**
 * The release whose proxy a `proxy` command talks to: the one named, or the latest of the release
 * service that still has a proxy (a new release removes the previous one's). Typed errors for
 * "no release yet" and "its proxy was removed", each saying what to run.
 */
export async function findReleaseProxy(model: EnvironmentModel, id: string | undefined): Promise<ReleaseProxy> {
  const release = id === undefined ? await latestWithProxy(model) : await findRelease(model, id);
  if (!release.proxy) {
    throw new EnvironmentError(
      'NO_PROXY',
      `release ${release.id} of ${release.service} (${release.status}) has no proxy any more: the next release removes it, and so does a release that fails to start`,
      'start a release with `envctl release start`; `envctl release status --all` lists the releases',
    );
  }
  return { release, url: `http://127.0.0.1:${release.proxy.hostPort}`, admin: createAdminClient(release.proxy.adminSocket) };
}

async function latestWithProxy(model: EnvironmentModel): Promise<ReleaseState> {
  const service = model.pipeline?.release?.service;
  const releases = (await listReleases(model.projectDir)).filter(
    (release) => release.project === model.project && release.env === model.env && (service === undefined || release.service === service),
  );
  const withProxy = releases.find((release) => release.proxy !== null);
  if (withProxy) return withProxy;
  const latest = releases[0];
  if (!latest) throw new UsageError('NO_RELEASE', `no release of ${service ?? 'any service'} in ${model.project} (${model.env}) yet, so no proxy`, 'start one with `envctl release start`');
  throw new EnvironmentError(
    'NO_PROXY',
    `no release of ${latest.service} in ${model.project} (${model.env}) has a proxy: the latest, ${latest.id}, is ${latest.status} and its proxy was removed`,
    'start a release with `envctl release start`',
  );
}

/**
 * Runs one admin call; a socket that does not answer becomes an error naming the release and its
 * proxy container (the socket stays behind when the container is stopped or removed by hand).
 */
export async function askProxy<T>(target: ReleaseProxy, call: (admin: AdminClient) => Promise<T>): Promise<T> {
  try {
    return await call(target.admin);
  } catch (error) {
    if (!(error instanceof EnvironmentError) || error.code !== 'PROXY_ADMIN_UNREACHABLE') throw error;
    const container = target.release.containers.proxy?.name;
    throw new EnvironmentError(
      'PROXY_NOT_RUNNING',
      `the proxy of release ${target.release.id} does not answer: ${error.message}`,
      container
        ? `its container ${container} may have stopped, hung or been removed: \`docker ps -a --filter name=${container}\` shows it, \`docker logs ${container}\` says why, \`docker restart ${container}\` restarts it; or start a new release with \`envctl release start\``
        : 'start a new release with `envctl release start`',
      error,
    );
  }
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned. */
export function renderTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((max, row) => row.map((cell, index) => Math.max(max[index] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ').trimEnd());
}

export interface ProxyStatusOutput extends ProxyAdminStatus {
  release: string;
  releaseStatus: ReleaseStatus;
  url: string;
}

export default class ProxyStatusCommand extends EnvctlCommand {
  static override summary = 'Show the release proxy: its URL, the live split, requests in flight and per-arm totals.';
  static override description =
    'Reads the proxy’s admin socket. Per arm, since the proxy started: requests, bad ones (5xx or upstream error), 4xx, override requests (X-Envctl-Target, envctl_target), upstream errors, and the latency percentiles of good responses in ms.';
  static override examples = ['<%= config.bin %> proxy status', '<%= config.bin %> proxy status --release r-20261126T120000Z-1a2b --json'];
  static override flags = proxyFlags;

  async run(): Promise<ProxyStatusOutput> {
    const { flags } = await this.parse(ProxyStatusCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const target = await findReleaseProxy(model, flags.release);
    const status = await askProxy(target, (admin) => admin.status());
    const output: ProxyStatusOutput = { release: target.release.id, releaseStatus: target.release.status, url: target.url, ...status };
    if (!this.jsonEnabled()) process.stdout.write(renderProxyStatus(output));
    return output;
  }
}

export function renderProxyStatus(output: ProxyStatusOutput): string {
  const ms = (us: number, count: number): string => (count === 0 ? '-' : (us / 1000).toFixed(1));
  const rows = [
    ['arm', 'requests', 'bad', '4xx', 'overrides', 'upstream errors', 'p50 ms', 'p95 ms', 'p99 ms'],
    ...ARMS.map((arm) => {
      const metrics = output.metrics.total[arm];
      const errors = metrics.upstreamErrors;
      const latency = metrics.latencyUs;
      return [
        arm,
        String(metrics.requests),
        String(metrics.bad),
        String(metrics.status4xx),
        String(metrics.overrides),
        String(errors.connect + errors.reset + errors.timeout),
        ms(latency.p50, latency.count),
        ms(latency.p95, latency.count),
        ms(latency.p99, latency.count),
      ];
    }),
  ];
  const lines = [
    `proxy    ${output.url}  (release ${output.release}, ${output.releaseStatus})${output.draining ? '  draining' : ''}`,
    `weights  ${formatWeights(output.weights)}  step ${output.step}`,
    `open     ${output.inFlight} in flight, ${output.tunnels} ${output.tunnels === 1 ? 'tunnel' : 'tunnels'}`,
    '',
    ...renderTable(rows),
  ];
  return `${lines.join('\n')}\n`;
}
