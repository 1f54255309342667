/**
 * The results: one JSON document (every sample, in ms) and a Markdown table of medians and ratios
 * (envctl / peer), both under bench/results/, named by the run's start time (UTC).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { machineLine } from './machine.mjs';
import { ratio, summarise } from './measure.mjs';

/** Adds median/min/max to each side and the ratio to each measurement. */
export function withStatistics(scenarioResults) {
  return scenarioResults.map((scenario) => ({
    ...scenario,
    measurements: scenario.measurements.map((measurement) => {
      const envctl = { ...measurement.envctl, ...summarise(measurement.envctl.samples) };
      if (envctl.internalMs?.length > 0) envctl.internalMedian = summarise(envctl.internalMs).median;
      if (measurement.p90 && envctl.samples.length > 0) envctl.p90 = nearestRank(envctl.samples, 0.9);
      const peer = measurement.peer ? { ...measurement.peer, ...summarise(measurement.peer.samples) } : null;
      return { ...measurement, envctl, peer, ratio: peer ? ratio(envctl.median, peer.median) : null };
    }),
  }));
}

/** The q-quantile (nearest rank). */
function nearestRank(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Issue 3's, 5's and 9's targets, judged on this run's medians (informative: timings never gate tests). */
export function judgeTargets(scenarios) {
  const find = (scenario, measurement) => scenarios.find((s) => s.name === scenario)?.measurements.find((m) => m.name === measurement);
  const targets = [];
  const noChange = find('topology-10', 'no-change up');
  if (noChange?.ratio != null) {
    targets.push({ target: "no-change `up` at most half of docker-compose's (topology-10)", value: `ratio ${noChange.ratio.toFixed(2)}`, met: noChange.ratio <= 0.5 });
  }
  const coldUp = find('topology-10', 'cold up');
  if (coldUp?.ratio != null) {
    targets.push({ target: "cold `up` no slower than docker-compose's (topology-10)", value: `ratio ${coldUp.ratio.toFixed(2)}`, met: coldUp.ratio <= 1.0 });
  }
  const down = find('topology-10', 'down');
  if (down?.envctl.median != null) {
    targets.push({ target: '`down` of ten services under 5 s (topology-10)', value: `${down.envctl.median} ms`, met: down.envctl.median < 5_000 });
  }
  if (down?.ratio != null) {
    targets.push({ target: "`down` at most 0.2× docker-compose's (topology-10)", value: `ratio ${down.ratio.toFixed(2)}`, met: down.ratio <= 0.2 });
  }
  const version = find('cli-start', '--version');
  if (version?.envctl.median != null) {
    targets.push({ target: '`envctl --version` under 150 ms median (cli-start)', value: `${version.envctl.median} ms`, met: version.envctl.median < 150 });
  }
  const plan1000 = find('scale', 'plan --offline 1000');
  if (plan1000?.envctl.median != null) {
    targets.push({ target: '`plan` of 1000 services under 1 s (scale, --offline, wall clock)', value: `${plan1000.envctl.median} ms`, met: plan1000.envctl.median < 1_000 });
  }
  const proxyRps = find('proxy', 'requests/s vs HAProxy');
  if (proxyRps?.ratio != null) {
    targets.push({ target: "proxy throughput at least 0.5× HAProxy's (proxy, 50 connections)", value: `${proxyRps.ratio.toFixed(2)}×`, met: proxyRps.ratio >= 0.5 });
  }
  const addedP50 = find('proxy', 'p50 latency vs direct');
  if (addedP50?.envctl.median != null && addedP50.peer?.median != null) {
    const added = addedP50.envctl.median - addedP50.peer.median;
    targets.push({ target: 'proxy adds under 1 ms to p50 latency vs direct (proxy)', value: `+${(added / 1000).toFixed(2)} ms`, met: added < 1_000 });
  }
  const healthyRelease = find('release', 'release WEB_VERSION=2: start → exit');
  if (healthyRelease) {
    // A release that was not promoted misses the target whatever its time (the reason is the value).
    const { median, excluded } = healthyRelease.envctl;
    const target = 'a default release of the demo (steps 10/25/50, 50 req/s) promoted in under 4 minutes (release)';
    if (median != null) targets.push({ target, value: `${(median / 1000).toFixed(1)} s (${(median / 240_000).toFixed(2)} of 240 s)`, met: median < 240_000 });
    else if (excluded.length > 0) targets.push({ target, value: `${(excluded[0].ms / 1000).toFixed(1)} s, ${excluded[0].reason}`, met: false });
  }
  const flip = find('release', 'rollback: launch → first version-1 response');
  if (flip?.envctl.median != null) {
    targets.push({ target: 'rollback after promotion flips back in under 1 s (release: spawn of the CLI → first version-1 response)', value: `${flip.envctl.median} ms`, met: flip.envctl.median < 1_000 });
  }
  const failedDuringRollback = find('release', 'rollback: failed requests');
  if (failedDuringRollback?.envctl.median != null) {
    targets.push({ target: 'no failed request during the rollback (release, one sequential client through the proxy)', value: `${failedDuringRollback.envctl.median} failed`, met: failedDuringRollback.envctl.median === 0 });
  }
  const bomb = find('definition-bomb', 'validate billion-laughs: spawn → exit 2');
  if (bomb?.envctl.median != null) {
    targets.push({ target: 'billion-laughs definition refused in under 1 s (definition-bomb: `envctl validate`, spawn → exit 2)', value: `${bomb.envctl.median} ms`, met: bomb.envctl.median < 1_000 });
  }
  return targets;
}

export function renderMarkdown(report) {
  const lines = [`# envctl bench ${report.startedAt}`, '', `Machine: ${machineLine(report.machine)}.`, ''];
  lines.push(
    `Run: \`${report.command}\`: ${report.options.reps} reps after 1 warm-up per scenario, tools interleaved (A B A B); ${formatDuration(report.durationMs)}; load average ${report.machine.loadAverageAtStart.join(' ')} at start, ${report.loadAverageAtEnd.join(' ')} at end.`,
    '',
  );
  lines.push('| scenario | measurement | envctl median (min–max) | peer | peer median (min–max) | envctl / peer |');
  lines.push('| --- | --- | ---: | --- | ---: | ---: |');
  for (const scenario of report.scenarios) {
    for (const measurement of scenario.measurements) {
      const peer = measurement.peer;
      lines.push(
        `| ${scenario.name} | ${measurement.name} | ${formatSide(measurement.envctl, measurement.unit)} | ${peer ? peer.tool : '—'} | ${peer ? formatSide(peer, measurement.unit) : '—'} | ${measurement.ratio != null ? `${measurement.ratio.toFixed(2)}${measurement.better === 'higher' ? ' (higher is better)' : ''}` : '—'} |`,
      );
    }
  }
  lines.push('', 'Values are in ms unless a unit is given. Times are wall-clock from starting the command to the end state (for `up`: every container running and healthy). A ratio below 1 means envctl is faster, except where marked "higher is better" (throughput: above 1 envctl does more).');
  if (report.targets.length > 0) {
    lines.push('', '## Targets (issues 3, 5 and 9)', '');
    for (const target of report.targets) lines.push(`- ${target.target}: ${target.value}: ${target.met ? 'met' : 'NOT met'}`);
  }
  const notes = report.scenarios.flatMap((scenario) => [
    `${scenario.name}: ${scenario.summary}`,
    ...scenario.notes.map((note) => `${scenario.name}: ${note}`),
    ...scenario.measurements
      .filter((measurement) => measurement.envctl.internalMedian != null && measurement.envctl.median != null)
      .map(
        (measurement) =>
          `${scenario.name} / ${measurement.name}: envctl's own clock (its JSON result's durationMs) median ${measurement.envctl.internalMedian} ms of ${measurement.envctl.median} ms wall; the other ${measurement.envctl.median - measurement.envctl.internalMedian} ms are outside it: process start, module loading${measurement.name.startsWith('down') ? ', loading the definition' : ''}`,
      ),
    ...scenario.measurements.flatMap((measurement) =>
      [measurement.envctl, measurement.peer]
        .filter((side) => side?.excluded.length > 0)
        .map((side) => `${scenario.name} / ${measurement.name}: ${side.tool}: excluded (not in the statistics): ${side.excluded.map((sample) => `${sample.ms} ms${sample.warmup ? ' (warm-up)' : ''}: ${sample.reason}`).join('; ')}`),
    ),
  ]);
  if (report.runNotes.length > 0) notes.push(...report.runNotes);
  lines.push('', '## Notes', '', ...notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

/** Writes `<dir>/<stamp>.json` and `<dir>/<stamp>.md` (each via a .tmp file and a rename). */
export async function writeReport(dir, report, markdown) {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const paths = { json: join(dir, `${stamp}.json`), markdown: join(dir, `${stamp}.md`) };
  for (const [path, text] of [[paths.json, `${JSON.stringify(report, null, 2)}\n`], [paths.markdown, markdown]]) {
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  }
  return paths;
}

function formatSide(side, unit = 'ms') {
  const suffix = unit === 'ms' ? '' : ` ${unit}`;
  if (side.median == null) return side.warmup.length > 0 ? `${side.warmup.join(', ')}${suffix} (warm-up only)` : '—';
  return `${side.median}${suffix} (${side.min}–${side.max})${side.p90 != null ? `, p90 ${side.p90}` : ''}`;
}

function formatDuration(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
