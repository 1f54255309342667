/** `envctl logs`: the output of the environment's services, merged by time or followed live. */
import type { EnvironmentModel } from '../definition/model.js';
import { UsageError } from '../errors.js';
import { environmentLabels } from '../labels.js';
import type { Engine } from './engine.js';
import type { ObservedContainer } from './types.js';

export interface ServiceLogLine {
  service: string;
  stream: 'stdout' | 'stderr';
  time: string | undefined;
  text: string;
}

export interface LogsSelection {
  services: readonly string[];
  tail: number | undefined;
  /** Unix seconds; 0 means from the start. */
  since: number;
}

async function selectContainers(model: EnvironmentModel, engine: Engine, services: readonly string[]): Promise<ObservedContainer[]> {
  for (const service of services) {
    if (!(service in model.services)) throw new UsageError('UNKNOWN_SERVICE', `no service "${service}" in ${model.project}`, `services: ${Object.keys(model.services).join(', ')}`);
  }
  await engine.ping();
  const containers = await engine.listContainers(environmentLabels(model.project, model.env));
  return containers.filter((container) => services.length === 0 || services.includes(container.service)).sort((a, b) => a.service.localeCompare(b.service));
}

/** Everything logged so far (or the last `tail` lines of each), merged in time order. */
export async function collectLogs(model: EnvironmentModel, engine: Engine, selection: LogsSelection): Promise<ServiceLogLine[]> {
  const containers = await selectContainers(model, engine, selection.services);
  const perService = await Promise.all(
    containers.map(async (container) =>
      (await engine.containerLogs(container.id, { tail: selection.tail, since: selection.since, timestamps: true })).map((line) => ({ service: container.service, ...line })),
    ),
  );
  // Engine timestamps are RFC 3339 with nanoseconds in UTC: they sort as strings. Stable within a service.
  return perService.flat().sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
}

/** Follows every selected service until the signal aborts; lines arrive as they are written. */
export async function* followLogs(model: EnvironmentModel, engine: Engine, selection: LogsSelection, signal: AbortSignal): AsyncIterable<ServiceLogLine> {
  const containers = await selectContainers(model, engine, selection.services);
  yield* mergeServiceLogs(containers.map((container) => ({ service: container.service, lines: engine.followLogs(container.id, { tail: selection.tail, since: selection.since, timestamps: true }, signal) })));
}

/** Several services' log streams as one, each line as it arrives, tagged with its service. */
export async function* mergeServiceLogs<Line extends object>(sources: ReadonlyArray<{ service: string; lines: AsyncIterable<Line> }>): AsyncIterable<Line & { service: string }> {
  const iterators = sources.map((source) => ({ service: source.service, iterator: source.lines[Symbol.asyncIterator]() }));
  const pending = new Map(iterators.map((source, index) => [index, source.iterator.next().then((result) => ({ index, result }))]));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      const source = iterators[index]!;
      pending.set(index, source.iterator.next().then((next) => ({ index, result: next })));
      yield { service: source.service, ...result.value };
    }
  } finally {
    // One stream failing (or the consumer stopping) closes the others: no stream keeps the process alive.
    await Promise.allSettled(iterators.map((source) => source.iterator.return?.()));
  }
}

/** `--since`: a duration back from now (`10m`, `1h30m`, `45s`) or an RFC 3339 time → unix seconds. */
export function parseSince(text: string, nowMs: number): number {
  const duration = /^(\d+h)?(\d+m)?(\d+s)?$/.exec(text);
  if (duration && text !== '') {
    const seconds = (Number.parseInt(duration[1] ?? '0', 10) * 3600 + Number.parseInt(duration[2] ?? '0', 10) * 60 + Number.parseInt(duration[3] ?? '0', 10));
    return Math.floor(nowMs / 1000) - seconds;
  }
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new UsageError('BAD_SINCE', `invalid --since "${text}"`, 'give a duration such as 10m or 1h30m, or a time such as 2026-11-26T10:00:00Z');
  return Math.floor(time / 1000);
}
