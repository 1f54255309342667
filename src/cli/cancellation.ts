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

/**
 * Runs `work` with Ctrl-C wired to its abort signal: the first signal warns through `renderer` with
 * `stopping` and aborts; the signal handlers are removed and the renderer closed however it ends.
 */
export async function runCancellable<T>(
  renderer: { sink: (event: { type: 'warning'; at: number; message: string }) => void; close: () => Promise<void> },
  stopping: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const cancellation = cancelOnSignals(() => renderer.sink({ type: 'warning', at: 0, message: `stopping: ${stopping} (press Ctrl-C again to force)` }));
  try {
    return await work(cancellation.signal);
  } finally {
    cancellation.dispose();
    await renderer.close();
  }
}

export { sleep } from '../sleep.js';
