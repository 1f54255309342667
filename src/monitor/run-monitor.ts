/**
 * `envctl monitor`: wires the feeds (engine, logs, release, pipeline) into one store, the store
 * into the terminal view, and the keys into actions. The actions are the only writes: restart a
 * container (engine), leave an approval (`a`, or `p` at the gate before promotion) for a running
 * controller (control.json), roll back (`envctl release rollback` as a child process, so the
 * monitor never drives a release itself), and nudge the canary weight through the proxy's admin
 * API once a release has ended.
 */
import { execa } from 'execa';
import type { EnvironmentModel } from '../definition/model.js';
import type { Engine } from '../engine/engine.js';
import { ExitCode } from '../errors.js';
import { createAdminClient } from '../proxy/admin-client.js';
import { writeControlRequest } from '../release/store.js';
import type { KeyIntent } from '../ui/monitor-keys.js';
import type { MonitorTerminal } from '../ui/monitor-app.js';
import { createMonitorStore, initialMonitorState, nudgedWeights, promptFor, type MonitorStore, type Prompt } from '../ui/monitor-store.js';
import { sanitizeLine } from '../ui/sanitize.js';
import { createLogHub, watchEngine, watchPipeline, watchRelease, type FeedContext } from './feeds.js';

/** Grace period of `r` (restart), seconds, as `docker restart` uses. */
const RESTART_GRACE_SECONDS = 10;
/** The longest a rollback child process may take, ms. */
const ROLLBACK_TIMEOUT_MS = 120_000;

export interface MonitorOptions {
  model: EnvironmentModel;
  engine: Engine;
  terminal: MonitorTerminal;
  /** How to run envctl itself (`node bin/run.js`), for `release rollback`. */
  cli: { command: string; args: readonly string[] };
  /** The definition flags the monitor got, passed on to the child commands. */
  definitionArgs: readonly string[];
  actor: string;
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
}

/** Runs until `q`, Ctrl-C or SIGINT/SIGTERM; resolves with the exit code (0, or 130 for a signal). */
export async function runMonitor(options: MonitorOptions): Promise<number> {
  const { model, engine } = options;
  const store = createMonitorStore(initialMonitorState(model.project, model.env));
  const controller = new AbortController();
  const context: FeedContext = { model, engine, dispatch: store.dispatch, signal: controller.signal, now: options.now, env: options.env };

  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const onSignal = (): void => finish(ExitCode.cancelled);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  // React's development build (the default without NODE_ENV) spends several times the CPU per frame
  // (measured: most of the monitor's time under log traffic); the dashboard runs for hours.
  process.env.NODE_ENV ??= 'production';
  const { startMonitorUi } = await import('../ui/monitor-app.js');
  const ui = startMonitorUi(store, options.terminal, (intent) => {
    if (intent.kind === 'quit') finish(ExitCode.ok);
    else void handleIntent(intent, store, options).catch((error: unknown) => store.dispatch({ type: 'message', text: messageOf(error), level: 'error' }));
  });
  try {
    const hub = createLogHub(context);
    const feeds = [watchEngine(context, (containers) => hub.follow(containers)), watchRelease(context), watchPipeline(context)];
    for (const feed of feeds) feed.catch((error: unknown) => store.dispatch({ type: 'message', text: messageOf(error), level: 'error' }));
    return await finished;
  } finally {
    controller.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    await ui.close();
  }
}

/** What a key means, done: a state change, a question, or (after y) the action. Problems become messages. */
export async function handleIntent(intent: Exclude<KeyIntent, { kind: 'quit' }>, store: MonitorStore, options: Pick<MonitorOptions, 'model' | 'engine' | 'cli' | 'definitionArgs' | 'actor' | 'env' | 'now'>): Promise<void> {
  const say = (text: string, level: 'info' | 'error' = 'info') => store.dispatch({ type: 'message', text, level });
  switch (intent.kind) {
    case 'none':
      return;
    case 'event':
      store.dispatch(intent.event);
      return;
    case 'ask': {
      const asked = promptFor(store.state(), intent.action);
      if (asked.ok) store.dispatch({ type: 'prompt', prompt: asked.value });
      else say(asked.reason, 'error');
      return;
    }
    case 'confirm':
      store.dispatch({ type: 'prompt', prompt: undefined });
      await runConfirmed(intent.prompt, say, options);
      return;
    case 'nudge': {
      const nudge = nudgedWeights(store.state(), intent.delta);
      if (!nudge.ok) return say(nudge.reason, 'error');
      const { weights } = nudge.value;
      await createAdminClient(nudge.value.socket, { timeoutMs: 3_000 }).setWeights(weights);
      say(`manual weights: canary ${weights.canary}% · baseline ${weights.baseline}% · prod ${weights.prod}% (the release's record keeps its own)`);
      return;
    }
  }
}

async function runConfirmed(prompt: Prompt, say: (text: string, level?: 'info' | 'error') => void, options: Pick<MonitorOptions, 'model' | 'engine' | 'cli' | 'definitionArgs' | 'actor' | 'env' | 'now'>): Promise<void> {
  switch (prompt.action) {
    case 'restart': {
      if (prompt.containerId === undefined) return;
      say(`restarting ${prompt.service ?? ''}…`);
      await options.engine.restartContainer(prompt.containerId, RESTART_GRACE_SECONDS);
      say(`restarted ${prompt.service ?? ''}`);
      return;
    }
    case 'approve':
    case 'promote': {
      // Promoting is approving the gate before promotion: the controller that holds the release promotes.
      if (prompt.releaseId === undefined) return;
      await writeControlRequest(options.model.projectDir, prompt.releaseId, { action: 'approve', actor: options.actor, at: new Date(options.now()).toISOString() });
      say(`approval left for the controller of ${prompt.releaseId}; it ${prompt.action === 'promote' ? 'promotes' : 'takes it'} within a second`);
      return;
    }
    case 'rollback': {
      if (prompt.releaseId === undefined) return;
      say(`rolling back ${prompt.releaseId} (envctl release rollback)…`);
      const result = await execa(options.cli.command, [...options.cli.args, 'release', 'rollback', prompt.releaseId, ...options.definitionArgs], {
        reject: false,
        stdin: 'ignore',
        timeout: ROLLBACK_TIMEOUT_MS,
        env: { ...options.env, CI: 'true', NO_COLOR: '1' },
      });
      // Its result line on success (stdout); on failure the error's first line (stderr).
      const line = (result.exitCode === 0 ? lastLine(String(result.stdout)) : firstLine(String(result.stderr))) ?? `envctl release rollback exited ${result.exitCode ?? '?'}`;
      say(sanitizeLine(line), result.exitCode === 0 ? 'info' : 'error');
      return;
    }
  }
}

function lastLine(text: string): string | undefined {
  return nonEmptyLines(text).at(-1);
}

function firstLine(text: string): string | undefined {
  return nonEmptyLines(text)[0];
}

function nonEmptyLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
