/**
 * How each tool does the scenario steps, measured to the same end state: `up` ends when every
 * container of the project is running and healthy (envctl waits for that itself; docker-compose
 * 1.29's `up -d` gates dependants on `service_healthy` but returns before the leaves are healthy,
 * so the bench polls the engine for them), `down` ends when the command exits.
 *
 * Every step resolves to `{ ms, stdout, output }`; `up` adds `changed`: whether the tool created,
 * recreated, started or built anything (a "no-change" `up` that changed something is not counted).
 * envctl's `up` and `down` add `internalMs`: the `durationMs` of its JSON result, its own clock from
 * loading the definition to the end (the rest of `ms` is process start and module loading).
 */
import { COMPOSE } from './compose.mjs';
import { COMPOSE_PROJECT_LABEL, ENVCTL_PROJECT_LABEL, projectContainers, waitProjectHealthy } from './docker.mjs';
import { timeCommand } from './measure.mjs';

/** envctl as a user runs it: the built CLI, plain progress (no TTY), no colour. */
export function envctlDriver({ ctx, project, file, env = {}, serviceCount }) {
  const run = (args, options = {}) =>
    timeCommand(process.execPath, [ctx.envctlBin, ...args, '-f', file], { env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env }, signal: ctx.signal, ...options });
  const healthy = () => waitProjectHealthy(ctx.docker, { labelKey: ENVCTL_PROJECT_LABEL, project, count: serviceCount, timeoutMs: 1_000, signal: ctx.signal });
  return {
    tool: 'envctl',
    project,
    labelKey: ENVCTL_PROJECT_LABEL,
    serviceLabelKey: 'dev.envctl.service',
    // envctl exits once everything is ready: the check after it is one engine call. `--json` prints
    // the result (with `changed`) on stdout and no progress; the work is the same.
    up: async () => {
      const result = await run(['up', '--json'], { until: healthy });
      const { changed, durationMs } = JSON.parse(result.stdout);
      return { ...result, changed, internalMs: durationMs };
    },
    down: async () => {
      const result = await run(['down', '--json']);
      return { ...result, internalMs: JSON.parse(result.stdout).durationMs };
    },
    downVolumes: async () => {
      const result = await run(['down', '--volumes', '--json']);
      return { ...result, internalMs: JSON.parse(result.stdout).durationMs };
    },
    status: () => run(['status']),
    assertGone: () => assertNoContainers(ctx, ENVCTL_PROJECT_LABEL, project),
  };
}

export function composeDriver({ ctx, project, file, serviceCount }) {
  const run = (args, options = {}) => timeCommand(COMPOSE, ['-p', project, '-f', file, ...args], { env: process.env, signal: ctx.signal, ...options });
  const healthy = () => waitProjectHealthy(ctx.docker, { labelKey: COMPOSE_PROJECT_LABEL, project, count: serviceCount, timeoutMs: 120_000, signal: ctx.signal });
  return {
    tool: 'docker-compose',
    project,
    labelKey: COMPOSE_PROJECT_LABEL,
    serviceLabelKey: 'com.docker.compose.service',
    up: async () => {
      const result = await run(['up', '-d'], { until: healthy });
      // 1.29 prints "Creating …", "Recreating …", "Starting …" for what it changes, "… is up-to-date" otherwise.
      return { ...result, changed: /^(Creating|Recreating|Starting|Building)\b/m.test(result.output) };
    },
    down: () => run(['down']),
    downVolumes: () => run(['down', '-v']),
    status: () => run(['ps']),
    assertGone: () => assertNoContainers(ctx, COMPOSE_PROJECT_LABEL, project),
  };
}

async function assertNoContainers(ctx, labelKey, project) {
  const left = await projectContainers(ctx.docker, labelKey, project);
  if (left.length > 0) throw new Error(`${project}: down left ${left.length} container(s): ${left.map((container) => container.Names[0]).join(', ')}`);
}
