/**
 * The Engine port: everything envctl asks of a container engine, in envctl's own types. One real
 * adapter (`docker-engine.ts`, dockerode); tests of pure logic may use a fake.
 */
import type { EngineInfo, ObservedContainer, ObservedNetwork, ObservedVolume } from './types.js';

export interface Engine {
  /** Checks the engine answers; throws EnvironmentError (exit 3) with what to do when it does not. */
  ping(): Promise<EngineInfo>;
  /** Containers (running or not) carrying all the given labels. */
  listContainers(labels: Record<string, string>): Promise<ObservedContainer[]>;
  listNetworks(labels: Record<string, string>): Promise<ObservedNetwork[]>;
  listVolumes(labels: Record<string, string>): Promise<ObservedVolume[]>;
  /** Which of the given image references exist locally. */
  existingImages(refs: readonly string[]): Promise<Set<string>>;
}
