/**
 * Infrastructure checks run against a live environment (the staging stage). Expected outcomes are
 * values: a check returns its result, it does not throw.
 */
import type { InfraCheck } from '../definition/schema.js';
import type { Engine } from '../engine/engine.js';

export type { InfraCheck };

export interface CheckContext {
  engine: Engine;
  /** The running container of a service in the environment under test, if any. */
  containerOf(service: string): string | undefined;
  /** Where a service's container port is published on the host (its first published port when `containerPort` is undefined). */
  publishedAddress(service: string, containerPort?: number): { host: string; port: number } | undefined;
  /** Wall clock, ms since the epoch (certificate validity is judged against it). */
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

export interface CheckResult {
  name: string;
  kind: InfraCheck['kind'];
  service: string;
  status: 'passed' | 'failed';
  /** Why it failed (each unmet expectation), or what was verified when it passed. */
  reasons: string[];
  durationMs: number;
  attempts: number;
}

export interface CheckTiming {
  /** Keep retrying a failing check until this much time has passed (ms). */
  timeoutMs: number;
  /** Pause between attempts (ms). */
  intervalMs: number;
}
