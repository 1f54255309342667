/**
 * One AbortController per command, driven by SIGINT/SIGTERM: the first signal stops scheduling
 * and lets running operations settle; the second exits at once with 130.
 */
export interface Cancellation {
  signal: AbortSignal;
  dispose(): void;
}

export function cancelOnSignals(onFirst: (signal: NodeJS.Signals) => void): Cancellation {
  const controller = new AbortController();
  const handler = (received: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${received} again: stopping now\n`);
      process.exit(130);
    }
    onFirst(received);
    controller.abort(new Error(`cancelled by ${received}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export { sleep } from '../sleep.js';
