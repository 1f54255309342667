/**
 * `envctl monitor` in a real terminal: the built CLI under tmux (a pseudo-terminal with a screen
 * to read back), against a small running environment. Keys go in with `send-keys`, the screen
 * comes back with `capture-pane`. Each test has its own tmux server (`-L`), so nothing else's
 * sessions are touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, envctl } from '../support/cli.js';
import { BASE_IMAGE, removeProject, uniqueProject } from '../support/docker.js';
import { releaseState } from '../support/release-state.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const RELEASE_ID = 'r-20261126T120000Z-1a2b';
const RUN_ID = '20261126T115500Z-a1b2';

/** Polls `check` until it gives a value; on timeout the error shows `context()` (the screen). */
async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 20_000, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!hasTmux)('envctl monitor in a terminal', () => {
  let dir: string;
  let project: string;
  let server: string;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'm');
  const until = <T>(check: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> => eventually(check, what, timeoutMs, screen);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-monitor-'));
    project = uniqueProject('monitor');
    server = `envctl-${project}`;
  });
  afterEach(async () => {
    spawnSync('tmux', ['-L', server, 'kill-server']);
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the services with their health, the release and the pipeline; filters, switches panes, restarts, rolls back, quits with 0', async () => {
    // app prints a window-title escape (OSC 2) and an OSC 52 clipboard write: neither may reach the terminal.
    await writeFile(
      join(dir, 'envctl.yaml'),
      `
name: ${project}
services:
  db:
    image: ${BASE_IMAGE}
    init: true
    command: ["sh", "-c", "echo db ready; exec sleep infinity"]
    healthcheck: { test: ["CMD", "true"], interval: 500ms }
  app:
    image: ${BASE_IMAGE}
    init: true
    command: ["sh", "-c", "printf 'hostile \\\\033]2;PWNED\\\\007\\\\033]52;c;Y3VybA==\\\\007 done\\\\n'; while true; do echo 'app ERROR payment failed' >&2; echo 'app request ok'; sleep 1; done"]
    depends_on: { db: { condition: service_healthy } }
`,
    );
    expect((await envctl(['up'], { cwd: dir })).exitCode).toBe(0);
    await writeReleaseFixtures(dir, project);

    tmux('new-session', '-d', '-s', 'm', '-x', '130', '-y', '40', `cd '${dir}' && '${process.execPath}' '${BIN}' monitor; echo "EXIT=$?" > exit-code; sleep 60`);
    await until(() => /› db +running +healthy/.test(screen()) && /app +running/.test(screen()), 'db healthy and app running on screen');
    // CPU needs a second stats reading (2 s later); memory comes with the first.
    await until(() => /› db +running +healthy +\S+ +(0 +)?\d+\.\d% +\d+(\.\d)? MiB/.test(screen()), 'CPU and memory of db');
    let text = screen();
    expect(text).toContain(`envctl monitor · ${project} (env default)`);
    expect(text).toMatch(new RegExp(`${RELEASE_ID} app · promoted`));
    expect(text).toContain('judge promote: canary within thresholds');
    expect(text).toMatch(/✔ build +passed +1\.2s/);
    await until(() => screen().includes('app request ok'), 'app log lines');
    expect(screen()).toMatch(/hostile +done/);
    expect(tmux('display-message', '-p', '-t', 'm', '#{pane_title}')).not.toContain('PWNED');

    // `/` filter: only the error lines stay.
    tmux('send-keys', '-t', 'm', '/');
    tmux('send-keys', '-t', 'm', '-l', 'ERROR');
    tmux('send-keys', '-t', 'm', 'Enter');
    text = await until(() => (screen().includes('filter "ERROR"') ? screen() : undefined), 'the filtered log pane');
    const logRows = text.split('\n').filter((line) => line.includes(' | '));
    expect(logRows.length).toBeGreaterThan(0);
    expect(logRows.every((line) => line.includes('app ERROR payment failed'))).toBe(true);

    // Tab: the log pane has the focus (its keys in the footer).
    tmux('send-keys', '-t', 'm', 'Tab');
    await until(() => screen().includes('↑↓ scroll  f follow/pause'), 'the log pane focused');
    tmux('send-keys', '-t', 'm', 'Tab');
    await until(() => screen().includes('a approve  p promote  b roll back'), 'the release pane focused');
    // Manual weights need the release proxy, which this fixture does not run: explained, nothing done.
    tmux('send-keys', '-t', 'm', '+');
    await until(() => screen().includes('does not answer'), 'the explanation for +');
    // p on a release that ended promoted: explained, nothing asked.
    tmux('send-keys', '-t', 'm', 'p');
    await until(() => screen().includes(`release ${RELEASE_ID} is already promoted`), 'the explanation for p');
    expect(screen()).not.toContain('[y/N]');

    // r on the selected service (db) asks first; y restarts it.
    tmux('send-keys', '-t', 'm', 'Tab', 'r');
    await until(() => screen().includes(`restart db (container ${project}-db)? [y/N]`), 'the restart question');
    tmux('send-keys', '-t', 'm', 'y');
    await until(() => screen().includes('restarted db'), 'the restart result', 30_000);

    // b asks, then runs `envctl release rollback` as a child process and shows its result line:
    // here its refusal, as the fixture's previous version has no container.
    tmux('send-keys', '-t', 'm', 'b');
    await until(() => screen().includes(`roll back ${RELEASE_ID} (app): production goes back to the previous version? [y/N]`), 'the rollback question');
    tmux('send-keys', '-t', 'm', 'y');
    await until(() => screen().includes('is no longer running'), 'the rollback result', 30_000);

    tmux('send-keys', '-t', 'm', 'q');
    const exit = await until(() => readFileOrUndefined(join(dir, 'exit-code')), 'the monitor to exit');
    expect(exit.trim()).toBe('EXIT=0');
    // The alternate screen is gone: the terminal shows what it showed before.
    expect(screen()).not.toContain('envctl monitor ·');
  }, 90_000);
});

describe('envctl monitor without a terminal', () => {
  it('refuses with exit 2 and names the commands for scripts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-monitor-'));
    try {
      await writeFile(join(dir, 'envctl.yaml'), `name: ${uniqueProject('monitor-notty')}\nservices:\n  web: { image: ${BASE_IMAGE} }\n`);
      const plain = await envctl(['monitor'], { cwd: dir });
      expect(plain.exitCode).toBe(2);
      for (const command of ['envctl status --json', 'envctl logs', 'envctl proxy status --json', 'envctl release status --json']) expect(plain.stderr).toContain(command);
      const json = await envctl(['monitor', '--json'], { cwd: dir });
      expect(json.exitCode).toBe(2);
      expect(JSON.parse(String(json.stdout))).toMatchObject({ error: { code: 'MONITOR_NEEDS_TTY', exitCode: 2 } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8') || undefined;
  } catch {
    return undefined;
  }
}

/** A promoted release (no proxy running) and a passed pipeline run, as their files say. */
async function writeReleaseFixtures(dir: string, project: string): Promise<void> {
  const releaseDir = join(dir, '.envctl', 'releases', RELEASE_ID);
  await mkdir(releaseDir, { recursive: true });
  const at = '2026-11-26T12:00:00.000Z';
  await writeFile(
    join(releaseDir, 'state.json'),
    JSON.stringify(
      releaseState(RELEASE_ID, {
        project,
        service: 'app',
        status: 'promoted',
        step: 4,
        weights: { canary: 100, baseline: 0, prod: 0 },
        images: { prod: 'app:1', canary: 'app:2' },
        containers: { proxy: null, prod: { id: 'gone', name: `${project}-app-prev` }, canary: null, baseline: null },
        stepStartsNs: {},
        outcome: 'promoted after 4 steps',
      }),
    ),
  );
  await writeFile(join(releaseDir, 'events.jsonl'), `${JSON.stringify({ release: RELEASE_ID, event: 'verdict', action: 'promote', reasons: [{ code: 'ok', message: 'canary within thresholds' }] })}\n`);
  const runDir = join(dir, '.envctl', 'runs', RUN_ID);
  await mkdir(runDir, { recursive: true });
  await writeFile(
    join(runDir, 'record.json'),
    JSON.stringify({
      version: 1,
      id: RUN_ID,
      project,
      env: 'default',
      definition: join(dir, 'envctl.yaml'),
      ci: false,
      startedAt: at,
      status: 'passed',
      images: {},
      stages: [{ name: 'build', status: 'passed', durationMs: 1200, results: [], outputTail: [] }],
    }),
  );
}
