/**
 * The release's built-in load (canary.md §3.5 `load`): a steady request rate through the proxy,
 * so every step gets its analysed requests even when nobody uses the service. autocannon at a
 * fixed overall rate over a few keep-alive connections, until stopped.
 */
import autocannon from 'autocannon';

export interface LoadHandle {
  /** Requests answered so far (any status) and failed to connect or timed out. */
  counts(): { responses: number; errors: number };
  stop(): Promise<void>;
}

/** Enough connections for the rate at the latencies a local service has, and no more. */
function connectionsFor(rps: number): number {
  return Math.max(2, Math.min(32, Math.ceil(rps / 10)));
}

/** A day: autocannon needs a duration; the controller stops it long before. */
const RUN_SECONDS = 86_400;

export function startLoad(options: { url: string; rps: number }): LoadHandle {
  const counts = { responses: 0, errors: 0 };
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const instance = autocannon(
    { url: options.url, connections: connectionsFor(options.rps), overallRate: options.rps, duration: RUN_SECONDS, pipelining: 1, timeout: 15 },
    () => finished(),
  );
  instance.on('response', () => {
    counts.responses += 1;
  });
  instance.on('reqError', () => {
    counts.errors += 1;
  });
  let stopping: Promise<void> | undefined;
  return {
    counts: () => ({ ...counts }),
    stop: () => {
      stopping ??= (async () => {
        instance.stop();
        await done;
      })();
      return stopping;
    },
  };
}
