/**
 * A failed stage's artifacts, kept beside its run record before the environment goes:
 * `.envctl/runs/<id>/<stage>/containers.json` (each container's state, health and exit code) and
 * `.envctl/runs/<id>/<stage>/logs/<container>.log` (its last log lines).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import type { ObservedContainer } from '../engine/types.js';
import { runsDir } from '../state/runs.js';

const LOG_LINES = 500;

/** Writes the artifacts and returns their folder; a container whose logs cannot be read gets a line saying why. */
export async function saveFailedStageArtifacts(options: { projectDir: string; runId: string; stage: string; engine: Engine; containers: readonly ObservedContainer[] }): Promise<string> {
  const dir = join(runsDir(options.projectDir), options.runId, options.stage);
  await mkdir(join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const states = [];
  for (const container of options.containers) {
    const status = await options.engine.inspectContainer(container.id).catch((error: unknown) => ({ problem: error instanceof Error ? error.message : String(error) }));
    states.push({ name: container.name, service: container.service, image: container.image, status });
    const text = await options.engine
      .containerLogs(container.id, { tail: LOG_LINES, timestamps: true })
      .then((lines) => lines.map((line) => `${line.time ?? ''} ${line.stream} ${line.text}`.trimStart()).join('\n'))
      .catch((error: unknown) => `logs not available: ${error instanceof Error ? error.message : String(error)}`);
    await writeFile(join(dir, 'logs', `${container.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`), `${text}\n`, { mode: 0o600 });
  }
  await writeFile(join(dir, 'containers.json'), `${JSON.stringify(states, null, 2)}\n`, { mode: 0o600 });
  return dir;
}
