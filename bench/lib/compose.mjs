/**
 * The peer: Debian's `docker-compose` (1.29, Python, talks to the engine socket itself through
 * docker-py, so the v28 `docker` CLI on PATH plays no part). Installed with apt-get when missing and
 * the bench runs as root; otherwise the Compose side is skipped with a note.
 */
import { execa } from 'execa';

export const COMPOSE = 'docker-compose';

/**
 * Returns `{ available: true, version }` or `{ available: false, reason }`. `log` writes a line to
 * stderr. `probeFile` is a Compose file used to check that docker-compose reaches the engine.
 */
export async function ensureCompose({ log, probeFile, env }) {
  let version = await composeVersion(env);
  if (!version) {
    if (process.getuid?.() !== 0) {
      return { available: false, reason: `${COMPOSE} is not installed and the bench is not root: install Debian's docker-compose package (apt-get install docker-compose) to measure the peer` };
    }
    log(`${COMPOSE} is missing: installing Debian's docker-compose package with apt-get (as root)`);
    const install = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'docker-compose'], { reject: false, all: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdin: 'ignore' });
    if (install.failed) {
      // A fresh machine may have no package lists yet.
      await execa('apt-get', ['update'], { reject: false, stdin: 'ignore' });
      const retry = await execa('apt-get', ['install', '-y', '--no-install-recommends', 'docker-compose'], { reject: false, all: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdin: 'ignore' });
      if (retry.failed) return { available: false, reason: `apt-get install docker-compose failed: ${(retry.all ?? '').split('\n').slice(-5).join(' | ')}` };
    }
    version = await composeVersion(env);
    if (!version) return { available: false, reason: `${COMPOSE} was installed but does not run` };
  }
  // `ps` on a project that does not exist: docker-compose must reach the engine and speak its API.
  const probe = await execa(COMPOSE, ['-p', 'bench-probe', '-f', probeFile, 'ps'], { reject: false, all: true, env, stdin: 'ignore' });
  if (probe.failed) {
    return { available: false, reason: `${COMPOSE} ${version} cannot talk to the engine (${probe.all?.trim().split('\n').at(-1)}); if it names an API version, try unsetting DOCKER_API_VERSION` };
  }
  return { available: true, version };
}

async function composeVersion(env) {
  const result = await execa(COMPOSE, ['version', '--short'], { reject: false, env, stdin: 'ignore' });
  return result.failed ? undefined : result.stdout.trim();
}
