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
      const peer = measurement.peer ? { ...measurement.peer, ...summarise(measurement.peer.samples) } : null;
      return { ...measurement, envctl, peer, ratio: peer ? ratio(envctl.median, peer.median) : null };
    }),
  }));
}

/** Issue 3's targets, judged on this run's medians (informative: timings never gate tests). */
export function judgeTargets(scenarios) {
  const find = (scenario, measurement) => scenarios.find((s) => s.name === scenario)?.measurements.find((m) => m.name === measurement);
  const targets = [];
  const noChange = find('topology-10', 'no-change up');
  if (noChange?.ratio != null) {
    targets.push({ target: "no-change `up` at most half of docker-compose's (topology-10)", value: `ratio ${noChange.ratio.toFixed(2)}`, met: noChange.ratio <= 0.5 });
  }
  const down = find('topology-10', 'down');
  if (down?.envctl.median != null) {
    targets.push({ target: '`down` of ten services under 5 s (topology-10)', value: `${down.envctl.median} ms`, met: down.envctl.median < 5_000 });
  }
  return targets;
}

export function renderMarkdown(report) {
  const lines = [`# envctl bench ${report.startedAt}`, '', `Machine: ${machineLine(report.machine)}.`, ''];
  lines.push(
    `Run: \`${report.command}\`: ${report.options.reps} reps after 1 warm-up per scenario, tools interleaved (A B A B); ${formatDuration(report.durationMs)}; load average ${report.machine.loadAverageAtStart.join(' ')} at start, ${report.loadAverageAtEnd.join(' ')} at end.`,
    '',
  );
  lines.push('| scenario | measurement | envctl median ms (min–max) | peer | peer median ms (min–max) | envctl / peer |');
  lines.push('| --- | --- | ---: | --- | ---: | ---: |');
  for (const scenario of report.scenarios) {
    for (const measurement of scenario.measurements) {
      const peer = measurement.peer;
      lines.push(
        `| ${scenario.name} | ${measurement.name} | ${formatSide(measurement.envctl)} | ${peer ? peer.tool : '—'} | ${peer ? formatSide(peer) : '—'} | ${measurement.ratio != null ? measurement.ratio.toFixed(2) : '—'} |`,
      );
    }
  }
  lines.push('', 'Times are wall-clock from starting the command to the end state (for `up`: every container running and healthy). A ratio below 1 means envctl is faster.');
  if (report.targets.length > 0) {
    lines.push('', '## Targets (issue 3)', '');
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

function formatSide(side) {
  if (side.median == null) return side.warmup.length > 0 ? `${side.warmup.join(', ')} (warm-up only)` : '—';
  return `${side.median} (${side.min}–${side.max})`;
}

function formatDuration(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
