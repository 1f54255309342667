/**
 * Run environments a pipeline left behind: a pipeline that was SIGKILLed (or kept a failed
 * stage's environment with --keep-on-failure) leaves `<project>-it-<suffix>`, `<project>-perf-<suffix>`
 * or `<project>-run-<suffix>` objects labelled `dev.envctl.run=<run id>`. They are found again by
 * their labels only (never by name), and a run whose pipeline process is still alive is never touched.
 */
import type { EnvironmentModel } from '../definition/model.js';
import type { EventSink } from '../events.js';
import { LABEL } from '../labels.js';
import { downEnvironment } from '../engine/down.js';
import type { Engine } from '../engine/engine.js';
import { readRunRecord } from '../state/runs.js';
import { deriveEnvironment } from './environments.js';

export interface RunLeftover {
  /** The run environment's project name. */
  project: string;
  runId: string;
  /** Engine objects found (`container x`, `network y`, `volume z`). */
  objects: string[];
  /** Why it is left alone, when it is (its pipeline still runs). */
  skipped?: string;
}

/** The leftover run environments of `model`'s project and environment, found by labels. */
export async function findRunLeftovers(model: EnvironmentModel, engine: Engine, isAlive: (pid: number) => boolean = processAlive): Promise<RunLeftover[]> {
  const ownRun = new RegExp(`^${escapeRegExp(model.project)}-(?:it|perf|run)-([0-9a-f]{4})$`);
  const byEnv = { [LABEL.env]: model.env };
  const found = new Map<string, RunLeftover>();
  const note = (labels: Record<string, string>, what: string) => {
    const project = labels[LABEL.project] ?? '';
    const runId = labels[LABEL.run];
    const match = ownRun.exec(project);
    // The run label's id must end with the project's suffix: anything else is not a run environment of ours.
    if (!runId || !match || !runId.endsWith(`-${match[1]}`)) return;
    const entry = found.get(project) ?? { project, runId, objects: [] };
    entry.objects.push(what);
    found.set(project, entry);
  };
  for (const container of await engine.listContainers(byEnv)) note(container.labels, `container ${container.name}`);
  for (const network of await engine.listNetworks(byEnv)) note(network.labels, `network ${network.name}`);
  for (const volume of await engine.listVolumes(byEnv)) note(volume.labels, `volume ${volume.name}`);
  const leftovers = [...found.values()].sort((a, b) => a.project.localeCompare(b.project));
  for (const leftover of leftovers) {
    const run = await readRunRecord(model.projectDir, leftover.runId);
    if (run.ok && run.record.status === 'running' && run.record.pid !== undefined && isAlive(run.record.pid)) {
      leftover.skipped = `run ${leftover.runId} is still running (pid ${run.record.pid})`;
    }
  }
  return leftovers;
}

/** Removes one leftover run environment (containers, networks and its own volumes), as its pipeline would have. */
export async function removeRunLeftover(model: EnvironmentModel, leftover: RunLeftover, options: { engine: Engine; emit: EventSink; now: () => number }): Promise<void> {
  const ephemeral = deriveEnvironment(model, { project: leftover.project, labels: { [LABEL.run]: leftover.runId } });
  await downEnvironment({ model: ephemeral, engine: options.engine, volumes: true, emit: options.emit, now: options.now });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
