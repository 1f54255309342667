/**
 * `down`'s schedule without an engine: which containers wait for which (the dependency graph, with
 * orphans first), and what a failed stop holds back.
 */
import { describe, expect, it } from 'vitest';
import { stopInDependencyOrder, stopPrerequisites } from '../../src/engine/down.js';
import type { ObservedContainer } from '../../src/engine/types.js';

const container = (service: string, id = service): ObservedContainer => ({
  id,
  name: `p-${id}`,
  service,
  state: 'running',
  health: undefined,
  image: 'img',
  labels: {},
  created: 0,
  ports: [],
});

const service = (name: string, dependsOn: string[] = []) => ({ name, dependsOn: Object.fromEntries(dependsOn.map((dependency) => [dependency, { condition: 'service_started' as const, required: true }])) });
const model = {
  services: { db: service('db'), cache: service('cache'), api: service('api', ['db', 'cache']), web: service('web', ['api']), lone: service('lone') },
} as unknown as Parameters<typeof stopPrerequisites>[0];

describe('stopPrerequisites', () => {
  it('makes each container wait for the containers of its dependants, and every known one for orphans', () => {
    const containers = [container('db'), container('cache'), container('api'), container('api', 'api-2'), container('web'), container('lone'), container('gone')];
    const prerequisites = stopPrerequisites(model, containers);
    expect(prerequisites.get('gone')).toEqual([]);
    expect(prerequisites.get('web')).toEqual(['gone']);
    expect(prerequisites.get('lone')).toEqual(['gone']);
    expect(prerequisites.get('api')).toEqual(['gone', 'web']);
    expect(prerequisites.get('api-2')).toEqual(['gone', 'web']);
    expect(prerequisites.get('db')).toEqual(['gone', 'api', 'api-2']);
    expect(prerequisites.get('cache')).toEqual(['gone', 'api', 'api-2']);
  });
});

describe('stopInDependencyOrder', () => {
  it('starts a stop only after every prerequisite reported stopped, unrelated ones at once', async () => {
    const containers = [container('db'), container('cache'), container('api'), container('web'), container('lone')];
    const log: string[] = [];
    await stopInDependencyOrder(containers, stopPrerequisites(model, containers), async (target, stopped) => {
      log.push(`start ${target.id}`);
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`stopped ${target.id}`);
      stopped();
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`removed ${target.id}`);
    });
    const at = (entry: string) => log.indexOf(entry);
    expect(at('stopped web')).toBeLessThan(at('start api'));
    expect(at('stopped api')).toBeLessThan(at('start db'));
    expect(at('stopped api')).toBeLessThan(at('start cache'));
    // lone does not wait for anything; db does not wait for api's removal, only its stop.
    expect(at('start lone')).toBeLessThan(at('stopped web'));
    expect(log.filter((entry) => entry.startsWith('removed'))).toHaveLength(5);
  });

  it('leaves the dependencies of a container whose stop failed running, finishes the rest, then throws', async () => {
    const containers = [container('db'), container('cache'), container('api'), container('web'), container('lone')];
    const started: string[] = [];
    const run = stopInDependencyOrder(containers, stopPrerequisites(model, containers), async (target, stopped) => {
      started.push(target.id);
      if (target.id === 'api') throw new Error('stop of api failed');
      stopped();
    });
    await expect(run).rejects.toThrow('stop of api failed');
    expect(started.sort()).toEqual(['api', 'lone', 'web']);
  });
});
