/**
 * Everything the bench creates is registered here before it exists, so one `releaseAll()` removes
 * it on success, failure and Ctrl-C alike: envctl projects by their `dev.envctl.project` label,
 * Compose projects with `docker-compose down -v` (then by label, in case that failed), temp dirs.
 */
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { COMPOSE } from './compose.mjs';
import { COMPOSE_PROJECT_LABEL, ENVCTL_PROJECT_LABEL, removeLabelledProject } from './docker.mjs';

export class BenchResources {
  #docker;
  #log;
  #envctlProjects = new Map();
  #composeProjects = new Map();
  #tempDirs = new Set();
  #emptyDirs = [];

  constructor({ docker, log }) {
    this.#docker = docker;
    this.#log = log;
  }

  /** A fresh directory under the OS temp dir, named `bench-<what>-…`. */
  async tempDir(what) {
    const dir = await mkdtemp(join(tmpdir(), `bench-${what}-`));
    this.#tempDirs.add(dir);
    return dir;
  }

  /**
   * Directories a tool will create outside the temp dirs (envctl's `.envctl/locks` beside a
   * definition), innermost first: removed at the end if still empty, left alone otherwise.
   */
  trackEmptyDirs(dirs) {
    this.#emptyDirs.push(...dirs);
  }

  /** `images`: also remove the images envctl built for the project (the demo's). */
  trackEnvctlProject(project, { images = false } = {}) {
    assertBenchName(project);
    this.#envctlProjects.set(project, { images });
  }

  trackComposeProject(project, file) {
    assertBenchName(project);
    this.#composeProjects.set(project, file);
  }

  /** Removes everything registered; never throws (a failure is logged and the sweep goes on). */
  async releaseAll() {
    for (const [project, { images }] of this.#envctlProjects) {
      await this.#attempt(`envctl project ${project}`, () => removeLabelledProject(this.#docker, { labelKey: ENVCTL_PROJECT_LABEL, project, images }));
    }
    for (const [project, file] of this.#composeProjects) {
      await this.#attempt(`compose project ${project}`, async () => {
        await execa(COMPOSE, ['-p', project, '-f', file, 'down', '-v', '--remove-orphans', '-t', '1'], { reject: false, stdin: 'ignore' });
        return removeLabelledProject(this.#docker, { labelKey: COMPOSE_PROJECT_LABEL, project });
      });
    }
    for (const dir of this.#tempDirs) await this.#attempt(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
    for (const dir of this.#emptyDirs) await rmdir(dir).catch(() => undefined);
    this.#envctlProjects.clear();
    this.#composeProjects.clear();
    this.#tempDirs.clear();
    this.#emptyDirs = [];
  }

  async #attempt(what, work) {
    try {
      const removed = await work();
      if (Array.isArray(removed) && removed.length > 0) this.#log(`cleanup: ${what}: removed ${removed.join(', ')}`);
    } catch (error) {
      this.#log(`cleanup: ${what}: ${error.message} (remove it by hand)`);
    }
  }
}

function assertBenchName(project) {
  if (!project.startsWith('bench-')) throw new Error(`bench project names start with "bench-": ${project}`);
}

/** A TCP port free on 127.0.0.1 right now (the kernel's choice), for a published port. */
export function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
