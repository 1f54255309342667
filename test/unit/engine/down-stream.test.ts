/** `down` opens the engine's event stream alongside its lists: when a list fails, the stream is closed too. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../../src/definition/resolve.js';
import { downEnvironment } from '../../../src/engine/down.js';
import type { ContainerEngineEvent, Engine } from '../../../src/engine/engine.js';

let dir: string;
let stateHome: string | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-down-stream-'));
  await writeFile(join(dir, 'envctl.yaml'), 'name: shop\nservices:\n  web: { image: shop-web:1 }\n');
  stateHome = process.env.ENVCTL_STATE_HOME;
  process.env.ENVCTL_STATE_HOME = join(dir, 'state');
});
afterEach(async () => {
  if (stateHome === undefined) delete process.env.ENVCTL_STATE_HOME;
  else process.env.ENVCTL_STATE_HOME = stateHome;
  await rm(dir, { recursive: true, force: true });
});

describe('down', () => {
  it('closes the event stream when listing the networks fails', async () => {
    let streamSignal: AbortSignal | undefined;
    const engine = {
      ping: async () => ({ version: '1.41' }),
      containerEvents: async (_labels: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<ContainerEngineEvent>> => {
        streamSignal = signal;
        return (async function* () {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        })();
      },
      listContainers: async () => [],
      listNetworks: async () => {
        throw new Error('the engine failed to list networks');
      },
      listVolumes: async () => [],
    } as unknown as Engine;
    const model = await loadDefinition({ cwd: dir, file: join(dir, 'envctl.yaml'), processEnv: {} });
    await expect(downEnvironment({ model, engine, volumes: false, emit: () => undefined, now: () => Date.now() })).rejects.toThrow(/list networks/);
    expect(streamSignal?.aborted).toBe(true);
  });
});
