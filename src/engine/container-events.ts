/**
 * Following an environment's containers through the engine's event stream, so `up` sees a
 * healthcheck pass and `down` sees a container exit when the engine reports it, instead of on the
 * next poll. The stream only wakes callers early: every decision is still taken on an inspect or
 * on an engine call's answer, and without a stream (an engine that does not offer it, a stream that
 * breaks) callers fall back to their poll interval.
 */
import type { ContainerEngineEvent, Engine } from './engine.js';

type Listener = (event: ContainerEngineEvent) => void;

export class ContainerEventWatch {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Containers with an event nobody was waiting for yet: the next wait returns at once. */
  private readonly unseen = new Set<string>();
  private live = true;

  private constructor(private readonly abort: AbortController) {}

  /**
   * Starts following containers with all the given labels; resolves once the engine streams (every
   * event after that is seen). Undefined when the engine cannot stream: callers poll instead.
   */
  static async open(engine: Engine, labels: Record<string, string>, signal?: AbortSignal): Promise<ContainerEventWatch | undefined> {
    if (!engine.containerEvents) return undefined;
    const abort = new AbortController();
    const stop = () => abort.abort();
    signal?.addEventListener('abort', stop, { once: true });
    let events: AsyncIterable<ContainerEngineEvent>;
    try {
      events = await engine.containerEvents(labels, abort.signal);
    } catch {
      signal?.removeEventListener('abort', stop);
      abort.abort();
      return undefined;
    }
    const watch = new ContainerEventWatch(abort);
    void watch.pump(events).finally(() => signal?.removeEventListener('abort', stop));
    return watch;
  }

  /** Whether events still arrive (false after close() or when the stream ended). */
  get following(): boolean {
    return this.live;
  }

  /**
   * Resolves when an event for the container arrives (or already arrived unseen), or after `ms`, or
   * when the signal aborts, whichever comes first.
   */
  nextOrTimeout(id: string, ms: number, signal: AbortSignal): Promise<void> {
    if (this.unseen.delete(id) || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.off(id, listener);
        this.unseen.delete(id);
        resolve();
      };
      const listener: Listener = () => done();
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.on(id, listener);
    });
  }

  /**
   * Resolves true when the container reports one of `actions` after this call, false if the stream
   * ends first. Register it before the engine call that causes the event.
   */
  once(id: string, actions: readonly string[]): Promise<boolean> {
    if (!this.live) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const listener: Listener = (event) => {
        if (event.action !== '' && !actions.includes(event.action)) return;
        this.off(id, listener);
        resolve(event.action !== '');
      };
      this.on(id, listener);
    });
  }

  close(): void {
    this.abort.abort();
    this.end();
  }

  private async pump(events: AsyncIterable<ContainerEngineEvent>): Promise<void> {
    try {
      for await (const event of events) {
        const listeners = this.listeners.get(event.id);
        if (listeners && listeners.size > 0) for (const listener of [...listeners]) listener(event);
        else this.unseen.add(event.id);
      }
    } catch {
      // A broken stream: callers go on polling.
    } finally {
      this.end();
    }
  }

  /** Wakes every waiter with an empty action: `once` resolves false, `nextOrTimeout` returns. */
  private end(): void {
    if (!this.live) return;
    this.live = false;
    for (const [id, listeners] of this.listeners) for (const listener of [...listeners]) listener({ id, action: '' });
  }

  private on(id: string, listener: Listener): void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
  }

  private off(id: string, listener: Listener): void {
    const set = this.listeners.get(id);
    set?.delete(listener);
    if (set?.size === 0) this.listeners.delete(id);
  }
}
