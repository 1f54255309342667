/**
 * `down` scheduling on the real engine, observed from the engine's own event stream (order of
 * events, never their timing): every dependant has exited (`die`) before its dependency is sent its
 * stop signal (`kill`), services with no relation stop without waiting for each other's levels,
 * and a service that ignores SIGTERM still gets SIGTERM, its grace period, then SIGKILL before
 * what it depends on is stopped. And `up` with the event stream still honours health gates.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/cli/cancellation.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { downEnvironment } from '../../src/engine/down.js';
import { upEnvironment } from '../../src/engine/up.js';
import type { EnvctlEvent } from '../../src/events.js';
import { LABEL } from '../../src/labels.js';
import { BASE_IMAGE, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
const engine = DockerEngine.fromEnv(process.env);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-down-order-'));
  project = uniqueProject('downorder');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

/**
 * db ← api ← web, db ← stubborn ← edge (stubborn ignores SIGTERM, grace 1s), and `lone`, related
 * to nothing. Health-gated so `up` has gates to honour.
 */
const definition = () => `
name: ${project}
services:
  db:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 3 }
  api:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 3 }
    depends_on: { db: { condition: service_healthy } }
  web:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    depends_on: { api: { condition: service_healthy } }
  stubborn:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
    stop_grace_period: 1s
    depends_on: { db: { condition: service_healthy } }
  edge:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    depends_on: [stubborn]
  lone:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
`;

interface EngineEvent {
  action: string;
  service: string;
  signal: string | undefined;
  exitCode: string | undefined;
}

/**
 * Records the project's container events live, in the engine's order, until `stop()`. Live, not
 * replayed with `since`: the engine keeps only its last 256 events, and other projects'
 * healthchecks on the same engine push older ones out.
 */
async function recordEvents(): Promise<{ stop: (complete: (events: EngineEvent[]) => boolean) => Promise<EngineEvent[]> }> {
  const abort = new AbortController();
  const stream = (await docker.getEvents({ filters: { label: [`${LABEL.project}=${project}`], type: ['container'] }, abortSignal: abort.signal } as Parameters<typeof docker.getEvents>[0])) as unknown as NodeJS.ReadableStream & { destroy(): void };
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.on('error', () => undefined);
  // Complete lines only: the last one may still be arriving.
  const parse = (): EngineEvent[] =>
    text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { Action: string; Actor: { Attributes: Record<string, string> } })
      .filter((event) => !event.Action.startsWith('exec_'))
      .map((event) => ({ action: event.Action, service: event.Actor.Attributes[LABEL.service] ?? '', signal: event.Actor.Attributes.signal, exitCode: event.Actor.Attributes.exitCode }));
  return {
    /** Stops once `complete` holds for what arrived (the stream delivers after the engine calls return), or after 10 s. */
    stop: async (complete: (events: EngineEvent[]) => boolean) => {
      for (let waited = 0; waited < 10_000 && !complete(parse()); waited += 100) await sleep(100, new AbortController().signal);
      stream.destroy();
      return parse();
    },
  };
}

const indexOf = (events: EngineEvent[], service: string, action: string, signal?: string) =>
  events.findIndex((event) => event.service === service && event.action === action && (signal === undefined || event.signal === signal));

describe('down order', () => {
  it('stops each dependant before its dependency starts stopping, by the graph, with SIGTERM, grace and SIGKILL kept', async () => {
    const file = join(dir, 'envctl.yaml');
    await writeFile(file, definition());
    const upRecording = await recordEvents();
    const progress: EnvctlEvent[] = [];
    const result = await upEnvironment({
      load: { cwd: dir, file, processEnv: {} },
      engine,
      removeOrphans: false,
      waitTimeoutMs: 60_000,
      emit: (event) => progress.push(event),
      signal: new AbortController().signal,
      now: Date.now,
      sleep,
    });
    expect(result.ok).toBe(true);
    // Health gates, seen by the engine: a dependant is created only after its dependency's healthcheck passed.
    const upEvents = await upRecording.stop((events) => events.filter((event) => event.action === 'start').length === 6);
    const healthy = (service: string) => upEvents.findIndex((event) => event.service === service && event.action === 'health_status: healthy');
    expect(healthy('db')).toBeGreaterThanOrEqual(0);
    expect(healthy('db')).toBeLessThan(indexOf(upEvents, 'api', 'create'));
    expect(healthy('db')).toBeLessThan(indexOf(upEvents, 'stubborn', 'create'));
    expect(healthy('api')).toBeLessThan(indexOf(upEvents, 'web', 'create'));

    const recording = await recordEvents();
    const model = await loadDefinition({ cwd: dir, file, processEnv: {} });
    const down = await downEnvironment({ model, engine, volumes: false, emit: () => undefined, now: Date.now });
    expect(down.removed.containers.sort()).toEqual(['api', 'db', 'edge', 'lone', 'stubborn', 'web'].map((service) => `${project}-${service}`));
    const events = await recording.stop((events) => events.filter((event) => event.action === 'destroy').length === 6);

    // Every dependant exited before its dependency was signalled.
    const edges: Array<[dependant: string, dependency: string]> = [['web', 'api'], ['api', 'db'], ['edge', 'stubborn'], ['stubborn', 'db']];
    for (const [dependant, dependency] of edges) {
      const died = indexOf(events, dependant, 'die');
      const signalled = indexOf(events, dependency, 'kill');
      expect(died, `${dependant} died`).toBeGreaterThanOrEqual(0);
      expect(signalled, `${dependency} signalled`).toBeGreaterThanOrEqual(0);
      expect(died, `${dependant} exits before ${dependency} is signalled`).toBeLessThan(signalled);
    }
    // By the graph, not by levels: lone (level 0, nothing depends on it) is signalled before
    // stubborn (level 1, in its grace period) has exited; levels would stop lone last.
    expect(indexOf(events, 'lone', 'kill')).toBeLessThan(indexOf(events, 'stubborn', 'die'));
    // The stubborn service: SIGTERM first, SIGKILL after its grace period, killed (137).
    const term = indexOf(events, 'stubborn', 'kill', '15');
    const kill = indexOf(events, 'stubborn', 'kill', '9');
    expect(term).toBeGreaterThanOrEqual(0);
    expect(term).toBeLessThan(kill);
    expect(events[indexOf(events, 'stubborn', 'die')]!.exitCode).toBe('137');
    // Every container stopped with SIGTERM first.
    for (const service of ['db', 'api', 'web', 'edge', 'lone']) expect(indexOf(events, service, 'kill', '15'), service).toBeGreaterThanOrEqual(0);
  });
});
