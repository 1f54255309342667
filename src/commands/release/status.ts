import { Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvctlCommand } from '../../cli/base-command.js';
import { releaseIdArg } from '../../cli/release-existing.js';
import { loadDefinition } from '../../definition/resolve.js';
import { createAdminClient, type ProxyAdminStatus } from '../../proxy/admin-client.js';
import { weightsText, findRelease } from '../../release/release.js';
import { listReleases, releaseDir, RELEASE_FILES, type ReleaseState } from '../../release/store.js';
import { sanitizeLine } from '../../ui/sanitize.js';

interface StatusOutput {
  release: ReleaseState;
  /** The judge's latest verdict recorded in events.jsonl (action, reasons). */
  lastVerdict: { action: string; reasons: Array<{ code: string; message: string }> } | null;
  /** Live figures from the proxy, when it answers. */
  proxy: ProxyAdminStatus | null;
}

export default class ReleaseStatusCommand extends EnvctlCommand {
  static override summary = 'Show a release: state, step, weights, the judge’s latest verdict and the proxy’s live figures.';
  static override examples = ['<%= config.bin %> release status', '<%= config.bin %> release status --json', '<%= config.bin %> release status --all'];
  static override args = releaseIdArg;
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    all: Flags.boolean({ description: 'list every release of this environment, newest first', default: false }),
  };

  async run(): Promise<StatusOutput | { releases: ReleaseState[] }> {
    const { args, flags } = await this.parse(ReleaseStatusCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    if (flags.all) {
      const releases = (await listReleases(model.projectDir)).filter((release) => release.project === model.project && release.env === model.env);
      if (!this.jsonEnabled()) {
        if (releases.length === 0) process.stdout.write('no releases yet\n');
        for (const release of releases) process.stdout.write(`${release.id}  ${release.service}  ${release.status.padEnd(14)} step ${release.step}  ${release.startedAt}${release.outcome ? `  ${sanitizeLine(release.outcome)}` : ''}\n`);
      }
      return { releases };
    }
    const release = await findRelease(model, args.id);
    const lastVerdict = await latestVerdict(join(releaseDir(model.projectDir, release.id), RELEASE_FILES.events));
    const proxy = release.proxy ? await createAdminClient(release.proxy.adminSocket, { timeoutMs: 2000 }).status().catch(() => null) : null;
    const output: StatusOutput = { release, lastVerdict, proxy };
    if (!this.jsonEnabled()) process.stdout.write(renderStatus(output));
    return output;
  }
}

async function latestVerdict(eventsPath: string): Promise<StatusOutput['lastVerdict']> {
  const text = await readFile(eventsPath, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((line) => line.includes('"event":"verdict"'));
  for (const line of lines.reverse()) {
    try {
      const event = JSON.parse(line) as { action: string; reasons: Array<{ code: string; message: string }> };
      return { action: event.action, reasons: event.reasons.map((reason) => ({ code: reason.code, message: reason.message })) };
    } catch {
      // cut off by a crash
    }
  }
  return null;
}

function renderStatus({ release, lastVerdict, proxy }: StatusOutput): string {
  const lines = [
    `release ${release.id} of ${release.service}: ${release.status}${release.outcome ? ` — ${sanitizeLine(release.outcome)}` : ''}`,
    `  step      ${release.step}  (${weightsText(release.weights)})`,
    `  images    canary ${release.images.canary} · production ${release.images.prod}`,
  ];
  if (release.target === 'swarm') lines.push(`  target    swarm (services ${[release.containers.canary, release.containers.baseline, release.containers.proxy].flatMap((slot) => (slot ? [slot.name] : [])).join(', ') || 'none left'})`);
  if (release.proxy) lines.push(`  proxy     http://127.0.0.1:${release.proxy.hostPort}${proxy ? '' : ' (not answering)'}`);
  if (release.gate) lines.push(`  gate      ${sanitizeLine(release.gate.reason)} (since ${release.gate.since}; aborts at ${release.gate.timeoutAt})`);
  if (release.retainUntil) lines.push(`  previous  ${release.containers.prod.name} kept for rollback until ${release.retainUntil}`);
  if (lastVerdict) lines.push(`  judge     ${lastVerdict.action}: ${lastVerdict.reasons.map((reason) => sanitizeLine(reason.message)).join('; ')}`);
  if (proxy) {
    lines.push('  arm       requests   bad   p50 ms   p99 ms');
    for (const arm of ['canary', 'baseline', 'prod'] as const) {
      const metrics = proxy.metrics.total[arm];
      lines.push(`  ${arm.padEnd(9)} ${String(metrics.requests).padStart(8)} ${String(metrics.bad).padStart(5)} ${(metrics.latencyUs.p50 / 1000).toFixed(1).padStart(8)} ${(metrics.latencyUs.p99 / 1000).toFixed(1).padStart(8)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
