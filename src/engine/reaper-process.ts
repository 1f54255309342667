/**
 * The reaper: a detached watcher process that removes an environment when the process that started
 * it disappears, in the spirit of Testcontainers' Ryuk. `startReaper` (testing/reaper.ts) spawns
 * it with a pipe on its stdin and sends one JSON line: the engine endpoint, the labels that
 * identify the environment and whether to keep volumes. The reaper answers `ready` once it has
 * reached the engine, then waits. When the pipe closes, because the owner called `stop()`, exited
 * or was SIGKILLed (the kernel closes the pipe in every case), it removes every container, network
 * and (unless kept) volume carrying all those labels, sweeps again until nothing is left (an
 * engine request in flight when the owner died may still create something), and exits.
 *
 * Standalone on purpose: no relative imports, only Node and dockerode, and only erasable
 * TypeScript syntax, so the same file runs as `dist/engine/reaper-process.js` and, in the
 * project's own tests, as `src/engine/reaper-process.ts` under Node's type stripping.
 */
import { createInterface } from 'node:readline';
import Docker from 'dockerode';

interface ReaperConfig {
  /** dockerode options (socketPath, or host/port/protocol with PEM strings). */
  endpoint: Record<string, unknown>;
  /** An object is removed only when it carries every one of these labels. */
  labels: Record<string, string>;
  keepVolumes: boolean;
}

/** After the owner is gone, sweeps stop after this long even if the engine keeps refusing (ms). */
const SWEEP_DEADLINE_MS = 60_000;
/** Pause between sweeps (ms). */
const SWEEP_PAUSE_MS = 1_000;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} reaper[${process.pid}] ${message}\n`);
}

function parseConfig(line: string): ReaperConfig {
  const value = JSON.parse(line) as Partial<ReaperConfig>;
  const labels = value.labels;
  if (!labels || typeof labels !== 'object' || Object.keys(labels).length === 0 || Object.values(labels).some((label) => typeof label !== 'string' || label === '')) {
    // Without labels the filter would match everything: refuse rather than remove what is not ours.
    throw new Error('the config names no labels');
  }
  return { endpoint: value.endpoint ?? {}, labels, keepVolumes: value.keepVolumes === true };
}

function isGone(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}

/** One pass: removes what carries the labels; returns how many objects it found (removed or not). */
async function sweep(docker: Docker, config: ReaperConfig): Promise<number> {
  const filters = { label: Object.entries(config.labels).map(([key, value]) => `${key}=${value}`) };
  let found = 0;
  const attempt = async (what: string, remove: () => Promise<unknown>): Promise<void> => {
    found += 1;
    try {
      await remove();
      log(`removed ${what}`);
    } catch (error) {
      if (!isGone(error)) log(`could not remove ${what} yet: ${(error as Error).message}`);
    }
  };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((container) => attempt(`container ${container.Names[0] ?? container.Id}`, () => docker.getContainer(container.Id).remove({ force: true, v: true }))));
  const networks = await docker.listNetworks({ filters });
  for (const network of networks) await attempt(`network ${network.Name}`, () => docker.getNetwork(network.Id).remove());
  if (!config.keepVolumes) {
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    for (const volume of volumes) await attempt(`volume ${volume.Name}`, () => docker.getVolume(volume.Name).remove());
  }
  return found;
}

/** Sweeps until a pass finds nothing, then once more a moment later (a create in flight), within the deadline. */
async function reap(docker: Docker, config: ReaperConfig): Promise<void> {
  const deadline = Date.now() + SWEEP_DEADLINE_MS;
  let emptyPasses = 0;
  while (emptyPasses < 2 && Date.now() < deadline) {
    try {
      const found = await sweep(docker, config);
      emptyPasses = found === 0 ? emptyPasses + 1 : 0;
    } catch (error) {
      log(`sweep failed: ${(error as Error).message}`);
      emptyPasses = 0;
    }
    if (emptyPasses < 2) await new Promise((resolve) => setTimeout(resolve, SWEEP_PAUSE_MS));
  }
  if (emptyPasses < 2) log(`gave up after ${SWEEP_DEADLINE_MS / 1000}s: something carrying ${JSON.stringify(config.labels)} may remain`);
}

async function main(): Promise<void> {
  // Detached in its own session: a Ctrl-C or hang-up meant for the tests must not stop the cleanup.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  const first = await new Promise<string | undefined>((resolve) => {
    lines.once('line', (line) => resolve(line));
    lines.once('close', () => resolve(undefined));
  });
  if (first === undefined) return; // The owner died before saying what to watch: nothing was created.
  const config = parseConfig(first);
  const docker = new Docker(config.endpoint as Docker.DockerOptions);
  await docker.ping();
  log(`watching ${JSON.stringify(config.labels)}`);
  process.stdout.write('ready\n');
  // SIGTERM (someone stopping the reaper on purpose) reaps at once rather than leaking.
  const terminated = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await Promise.race([closed, terminated]);
  log('owner gone: removing the environment');
  await reap(docker, config);
  log('done');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    process.stdout.write(`error ${String((error as Error).message ?? error).replace(/\n/g, ' ')}\n`);
    process.exit(1);
  },
);
