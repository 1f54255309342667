/**
 * The Compose corpus (test/fixtures/compose-corpus): one folder per project, written in the style of
 * real projects. `expect.json` (optional) says what a project needs and what envctl names in it.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/compose-corpus/', import.meta.url));

const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export interface CorpusExpect {
  /** Bind mounts of host configuration or the Docker socket: the project needs --allow-privileged. */
  allowPrivileged?: boolean;
  /** Keys envctl names as not supported yet, as dotted paths (`services.web.secrets`). */
  unsupported?: string[];
  /** Sets of `-f` files compared with docker-compose (default: the project's compose file alone). */
  fileSets?: string[][];
  /** Profile sets to compare (default: none enabled). */
  profileSets?: string[][];
  /** Whether docker-compose 1.29 can read the file at all, and why not. */
  peer?: { supported: boolean; why: string };
  /** Files of the project the peer reads on their own (e.g. what an `include` pulls in). */
  peerAlso?: string[];
  why?: string;
}

export interface CorpusProject {
  name: string;
  dir: string;
  /** The project's main compose file (the one envctl finds by itself). */
  file: string;
  expect: CorpusExpect;
}

export function corpusProjects(): CorpusProject[] {
  return readdirSync(CORPUS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(CORPUS_DIR, entry.name);
      const file = COMPOSE_NAMES.find((name) => existsSync(join(dir, name)));
      if (!file) throw new Error(`corpus project ${entry.name} has no compose file`);
      const expectPath = join(dir, 'expect.json');
      const expect = existsSync(expectPath) ? (JSON.parse(readFileSync(expectPath, 'utf8')) as CorpusExpect) : {};
      return { name: entry.name, dir, file, expect };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
