import { describe, expect, it } from 'vitest';
import type { EnvctlEvent } from '../../../src/events.js';
import { createProgressRenderer } from '../../../src/ui/render-progress.js';
import { capturedStream, renderedOutput } from './support.js';

/** Feeds events to a plain renderer; returns what it wrote. */
function plainOutput(events: readonly EnvctlEvent[]): Promise<string> {
  return renderedOutput(createProgressRenderer, 'plain', events);
}

describe('plain progress lines', () => {
  it('writes one stable line per meaningful event of an `up`', async () => {
    const output = await plainOutput([
      { type: 'operation', at: 0, operation: 'up', project: 'shop', env: 'local', services: ['db', 'web'] },
      { type: 'resource', at: 5, kind: 'network', name: 'shop_default', action: 'created' },
      { type: 'resource', at: 8, kind: 'volume', name: 'shop_dbdata', action: 'kept' },
      { type: 'service', at: 10, service: 'web', phase: 'building' },
      { type: 'build-log', at: 20, service: 'web', line: 'Step 1/4 : FROM envctl/base-node:24' },
      { type: 'build-log', at: 21, service: 'web', line: '' },
      { type: 'service', at: 1510, service: 'web', phase: 'built' },
      { type: 'service', at: 100, service: 'db', phase: 'creating' },
      { type: 'service', at: 300, service: 'db', phase: 'health' },
      { type: 'service', at: 2300, service: 'db', phase: 'health' },
      { type: 'service', at: 4300, service: 'db', phase: 'healthy' },
      { type: 'service', at: 4400, service: 'web', phase: 'waiting', detail: 'db' },
      { type: 'service', at: 4500, service: 'web', phase: 'recreating', detail: 'changed: environment' },
      { type: 'service', at: 4600, service: 'web', phase: 'running' },
      { type: 'warning', at: 4700, message: 'port 8080 is published on all interfaces' },
      { type: 'done', at: 4800, ok: true, cancelled: false, summary: '2 services up in 4.8s' },
    ]);
    expect(output).toBe(
      [
        'up shop (env local)',
        'network shop_default created',
        'volume shop_dbdata kept',
        'web  building',
        'web  | Step 1/4 : FROM envctl/base-node:24',
        'web  built (1.5s)',
        'db  creating',
        'db  waiting for health',
        'db  healthy (4.2s)',
        'web  waiting for dependencies: db',
        'web  recreating: changed: environment',
        'web  running (4.5s)',
        'warning: port 8080 is published on all interfaces',
        'done: 2 services up in 4.8s',
        '',
      ].join('\n'),
    );
  });

  it('writes failures with their detail, and repeats a phase only when its detail changes', async () => {
    const output = await plainOutput([
      { type: 'operation', at: 0, operation: 'up', project: 'shop', env: '', services: ['db'] },
      { type: 'service', at: 0, service: 'db', phase: 'pending' },
      { type: 'service', at: 100, service: 'db', phase: 'health', detail: 'retry 1/3' },
      { type: 'service', at: 200, service: 'db', phase: 'health', detail: 'retry 1/3' },
      { type: 'service', at: 300, service: 'db', phase: 'health', detail: 'retry 2/3' },
      { type: 'service', at: 900, service: 'db', phase: 'failed', detail: 'unhealthy: pg_isready: no response' },
      { type: 'done', at: 1000, ok: false, cancelled: false, summary: 'db is unhealthy' },
    ]);
    expect(output.split('\n')).toEqual([
      'up shop',
      'db  waiting for health: retry 1/3',
      'db  waiting for health: retry 2/3',
      'db  failed: unhealthy: pg_isready: no response',
      'failed: db is unhealthy',
      '',
    ]);
  });

  it('writes a `down` and a cancellation', async () => {
    const output = await plainOutput([
      { type: 'operation', at: 0, operation: 'down', project: 'shop', env: 'ci', services: ['web'] },
      { type: 'service', at: 10, service: 'web', phase: 'stopping' },
      { type: 'service', at: 310, service: 'web', phase: 'removed' },
      { type: 'resource', at: 320, kind: 'container', name: 'shop-web-1', action: 'removed' },
      { type: 'done', at: 400, ok: false, cancelled: true, summary: 'interrupted' },
    ]);
    expect(output.split('\n')).toEqual([
      'down shop (env ci)',
      'web  stopping',
      'web  removed (0.3s)',
      'container shop-web-1 removed',
      'cancelled: interrupted',
      '',
    ]);
  });

  it('folds multi-line text onto one line and writes nothing after close', async () => {
    const { stream, output } = capturedStream();
    const renderer = createProgressRenderer('plain', { stderr: stream });
    renderer.sink({ type: 'warning', at: 0, message: 'first line\nsecond line\r\n' });
    await renderer.close();
    renderer.sink({ type: 'warning', at: 1, message: 'too late' });
    expect(output()).toBe('warning: first line second line\n');
  });
});
