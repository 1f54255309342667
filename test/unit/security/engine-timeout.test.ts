/**
 * ENVCTL_ENGINE_TIMEOUT_MS is read where the engine endpoint is resolved (not at import) and a bad
 * value is refused with exit 2 and what to write instead, never silently ignored.
 */
import { describe, expect, it } from 'vitest';
import { CALL_TIMEOUT_MS, resolveDockerEndpoint } from '../../../src/engine/docker-engine.js';

describe('ENVCTL_ENGINE_TIMEOUT_MS', () => {
  it('is refused when it is not whole milliseconds in range (exit 2, names the variable)', () => {
    for (const bad of ['5s', '0', '999', '600001', '1.5e3', 'abc']) {
      let caught: unknown;
      try {
        resolveDockerEndpoint({ ENVCTL_ENGINE_TIMEOUT_MS: bad });
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toMatchObject({ exitCode: 2, code: 'BAD_ENV' });
      expect((caught as Error).message).toContain('ENVCTL_ENGINE_TIMEOUT_MS');
    }
  });

  it('is read per endpoint: a valid value applies, unset gives the default', () => {
    expect(resolveDockerEndpoint({ ENVCTL_ENGINE_TIMEOUT_MS: '3000' }).callTimeoutMs).toBe(3000);
    expect(resolveDockerEndpoint({}).callTimeoutMs).toBe(CALL_TIMEOUT_MS);
  });
});
