import { describe, expect, it } from 'vitest';
import type { PipelineSinkEvent } from '../../../src/ui/pipeline-store.js';
import { createPipelineRenderer } from '../../../src/ui/render-progress.js';
import { capturedStream, renderedOutput } from './support.js';

/** Feeds events to a plain pipeline renderer; returns what it wrote. */
function plainOutput(events: readonly PipelineSinkEvent[]): Promise<string> {
  return renderedOutput(createPipelineRenderer, 'plain', events);
}

describe('plain pipeline lines', () => {
  it('writes one stable line per meaningful event of a failing run', async () => {
    const output = await plainOutput([
      { type: 'pipeline', at: 0, runId: '20261126T103512Z-a1b2', project: 'demo', env: 'default', stages: ['build', 'integration', 'perf', 'staging'] },
      { type: 'stage', at: 0, stage: 'build', status: 'pending' },
      { type: 'stage', at: 100, stage: 'build', status: 'running' },
      { type: 'stage-output', at: 200, stage: 'build', line: 'Step 1/4 : FROM envctl/base-node:24' },
      { type: 'stage-output', at: 210, stage: 'build', line: '   ' },
      { type: 'check', at: 12_300, stage: 'build', name: 'image web', status: 'passed', detail: 'built demo-web:3f2a' },
      { type: 'stage', at: 12_400, stage: 'build', status: 'passed' },
      { type: 'stage', at: 12_500, stage: 'integration', status: 'running' },
      { type: 'operation', at: 0, operation: 'up', project: 'demo-it-a1b2', env: 'default', services: ['db', 'web'] },
      { type: 'resource', at: 5, kind: 'network', name: 'demo-it-a1b2_default', action: 'created' },
      { type: 'service', at: 10, service: 'db', phase: 'creating' },
      { type: 'service', at: 2110, service: 'db', phase: 'healthy' },
      { type: 'service', at: 2200, service: 'web', phase: 'building' },
      { type: 'build-log', at: 2300, service: 'web', line: 'Step 2/4 : COPY . .' },
      { type: 'warning', at: 2400, message: 'port 8080 is published on all interfaces' },
      { type: 'done', at: 2500, ok: true, cancelled: false, summary: '2 services up in 2.5s' },
      { type: 'stage-output', at: 15_000, stage: 'integration', line: '> npm test' },
      { type: 'check', at: 20_600, stage: 'integration', name: 'npm test', status: 'failed', detail: 'exited 1' },
      { type: 'operation', at: 0, operation: 'down', project: 'demo-it-a1b2', env: 'default', services: ['db', 'web'] },
      { type: 'service', at: 10, service: 'db', phase: 'stopping' },
      { type: 'service', at: 310, service: 'db', phase: 'removed' },
      { type: 'done', at: 400, ok: true, cancelled: false, summary: 'removed demo-it-a1b2' },
      { type: 'stage', at: 20_700, stage: 'integration', status: 'failed', detail: 'npm test exited 1' },
      { type: 'stage', at: 20_700, stage: 'integration', status: 'failed', detail: 'npm test exited 1' },
      { type: 'stage', at: 20_800, stage: 'perf', status: 'skipped', detail: 'integration failed' },
      { type: 'stage', at: 20_800, stage: 'staging', status: 'skipped', detail: 'integration failed' },
      { type: 'pipeline-done', at: 20_900, ok: false, cancelled: false, summary: 'run 20261126T103512Z-a1b2: integration failed after 20.9s' },
    ]);
    expect(output).toBe(
      [
        'pipeline 20261126T103512Z-a1b2 demo (env default): build, integration, perf, staging',
        'build  running',
        'build  | Step 1/4 : FROM envctl/base-node:24',
        'build  check passed: image web: built demo-web:3f2a',
        'build  passed (12.3s)',
        'integration  running',
        'integration  | up demo-it-a1b2 (env default)',
        'integration  | network demo-it-a1b2_default created',
        'integration  | db  creating',
        'integration  | db  healthy (2.1s)',
        'integration  | web  building',
        'integration  | web  | Step 2/4 : COPY . .',
        'integration  | warning: port 8080 is published on all interfaces',
        'integration  | done: 2 services up in 2.5s',
        'integration  | > npm test',
        'integration  check failed: npm test: exited 1',
        'integration  | down demo-it-a1b2 (env default)',
        'integration  | db  stopping',
        'integration  | db  removed (0.3s)',
        'integration  | done: removed demo-it-a1b2',
        'integration  failed (8.2s): npm test exited 1',
        'perf  skipped: integration failed',
        'staging  skipped: integration failed',
        'failed: run 20261126T103512Z-a1b2: integration failed after 20.9s',
        '',
      ].join('\n'),
    );
  });

  it('writes a passing run, checks without detail, and a stage detail update', async () => {
    const output = await plainOutput([
      { type: 'pipeline', at: 0, runId: 'r2', project: 'shop', env: '', stages: ['staging'] },
      { type: 'stage', at: 0, stage: 'staging', status: 'running', detail: 'deploying' },
      { type: 'stage', at: 500, stage: 'staging', status: 'running', detail: 'checking' },
      { type: 'check', at: 900, stage: 'staging', name: 'port web:3000', status: 'failed', detail: 'nothing listens on 3000 inside web' },
      { type: 'check', at: 1900, stage: 'staging', name: 'port web:3000', status: 'passed' },
      { type: 'stage', at: 65_400, stage: 'staging', status: 'passed' },
      { type: 'pipeline-done', at: 65_500, ok: true, cancelled: false, summary: 'run r2: staging passed in 1m05s' },
    ]);
    expect(output.split('\n')).toEqual([
      'pipeline r2 shop: staging',
      'staging  running: deploying',
      'staging  running: checking',
      'staging  check failed: port web:3000: nothing listens on 3000 inside web',
      'staging  check passed: port web:3000',
      'staging  passed (1m05s)',
      'done: run r2: staging passed in 1m05s',
      '',
    ]);
  });

  it('writes a cancellation, and environment lines before any stage without a prefix', async () => {
    const output = await plainOutput([
      { type: 'pipeline', at: 0, runId: 'r3', project: 'shop', env: 'ci', stages: ['build', 'perf'] },
      { type: 'warning', at: 0, message: 'stale lock removed' },
      { type: 'stage', at: 100, stage: 'build', status: 'running' },
      { type: 'warning', at: 0, message: 'stopping: removing this run’s environments' },
      { type: 'stage', at: 900, stage: 'build', status: 'failed', detail: 'cancelled' },
      { type: 'stage', at: 900, stage: 'perf', status: 'skipped', detail: 'cancelled' },
      { type: 'pipeline-done', at: 1000, ok: false, cancelled: true, summary: 'run r3 cancelled after 1.0s' },
    ]);
    expect(output.split('\n')).toEqual([
      'pipeline r3 shop (env ci): build, perf',
      'warning: stale lock removed',
      'build  running',
      'build  | warning: stopping: removing this run’s environments',
      'build  failed (0.8s): cancelled',
      'perf  skipped: cancelled',
      'cancelled: run r3 cancelled after 1.0s',
      '',
    ]);
  });

  it('folds multi-line text onto one line and writes nothing after close', async () => {
    const { stream, output } = capturedStream();
    const renderer = createPipelineRenderer('plain', { stderr: stream });
    renderer.sink({ type: 'stage-output', at: 0, stage: 'perf', line: 'p99 12ms\r\nthreshold 50ms\n' });
    await renderer.close();
    renderer.sink({ type: 'stage-output', at: 1, stage: 'perf', line: 'too late' });
    expect(output()).toBe('perf  | p99 12ms threshold 50ms\n');
  });
});
