/**
 * cli-start: what a command costs before it does anything, and a read-only listing. With the
 * topology-10 definition up under both tools (so both listings see 10 running, healthy
 * containers and the machine carries the same healthcheck load for every sample), each rep runs,
 * in turn: `envctl --version`, `docker-compose --version`, `docker --version`, `envctl status`,
 * `docker-compose ps`, `docker ps --filter label=…`. `docker` (the Go CLI) is the floor a CLI
 * that talks to the engine can reach.
 */
import { execa } from 'execa';
import { COMPOSE } from '../lib/compose.mjs';
import { composeDriver, envctlDriver } from '../lib/drivers.mjs';
import { SampleBook, timeCommand } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';
import { TOPOLOGY_PUBLISHERS, TOPOLOGY_SERVICES, writeTopology } from '../lib/topology.mjs';

/** These commands take well under a second: more samples than the up/down scenarios (per rep). */
const SAMPLES_PER_REP = 2;

export const cliStart = {
  name: 'cli-start',
  summary: 'start-up cost (`--version`) and a listing of the 10 running services (`status` / `ps`), envctl vs docker-compose and the docker CLI',

  async run(ctx) {
    const dir = await ctx.resources.tempDir('cli');
    const envctlProject = `bench-${ctx.runId}-cli-envctl`;
    const composeProject = `bench-${ctx.runId}-cli-compose`;
    const portsFor = async () => Object.fromEntries(await Promise.all(TOPOLOGY_PUBLISHERS.map(async (name) => [name, await freeLoopbackPort()])));
    const { envctlFile, composeFile } = await writeTopology({ dir, envctlProject, envctlPorts: await portsFor(), composePorts: await portsFor(), healthIntervalMs: 1_000 });
    const serviceCount = TOPOLOGY_SERVICES.length;
    const envctl = envctlDriver({ ctx, project: envctlProject, file: envctlFile, serviceCount });
    const compose = ctx.compose.available ? composeDriver({ ctx, project: composeProject, file: composeFile, serviceCount }) : null;

    ctx.resources.trackEnvctlProject(envctlProject);
    if (compose) ctx.resources.trackComposeProject(composeProject, composeFile);
    ctx.progress('cli-start: bringing the topology up under both tools (untimed)');
    await envctl.up();
    if (compose) await compose.up();

    const envctlEnv = { ...process.env, CI: 'true', NO_COLOR: '1' };
    const commands = [
      { measurement: '--version', tool: 'envctl', run: () => timeCommand(process.execPath, [ctx.envctlBin, '--version'], { env: envctlEnv, signal: ctx.signal }) },
      compose && { measurement: '--version', tool: 'docker-compose', run: () => timeCommand(COMPOSE, ['--version'], { signal: ctx.signal }) },
      { measurement: '--version', tool: 'docker', run: () => timeCommand('docker', ['--version'], { signal: ctx.signal }) },
      { measurement: 'status', tool: 'envctl', run: envctl.status },
      compose && { measurement: 'status', tool: 'docker-compose', run: compose.status },
      { measurement: 'status', tool: 'docker', run: () => timeCommand('docker', ['ps', '--filter', `label=dev.envctl.project=${envctlProject}`], { signal: ctx.signal }) },
    ].filter(Boolean);

    const book = new SampleBook();
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      const warmup = rep === 0;
      ctx.progress(`cli-start ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}`);
      for (let sample = 0; sample < (warmup ? 1 : SAMPLES_PER_REP); sample += 1) {
        for (const command of commands) book.add(command.measurement, command.tool, (await command.run()).ms, { warmup });
      }
    }

    await envctl.downVolumes();
    if (compose) await compose.downVolumes();

    const dockerVersion = (await execa('docker', ['--version'], { reject: false })).stdout?.trim();
    const envctlSide = (name) => book.side(name, 'envctl');
    const peerSide = (name, tool) => book.side(name, tool);
    const measurements = [];
    if (compose) {
      measurements.push({ name: '--version', what: 'start-up only, no engine call', envctl: envctlSide('--version'), peer: peerSide('--version', 'docker-compose') });
      measurements.push({ name: 'status', what: 'list the 10 services (envctl status / docker-compose ps)', envctl: envctlSide('status'), peer: peerSide('status', 'docker-compose') });
    }
    measurements.push({ name: '--version (Go CLI floor)', what: 'envctl --version vs docker --version', envctl: envctlSide('--version'), peer: peerSide('--version', 'docker') });
    measurements.push({ name: 'status (Go CLI floor)', what: 'envctl status vs docker ps --filter label=…', envctl: envctlSide('status'), peer: peerSide('status', 'docker') });
    return {
      name: this.name,
      summary: this.summary,
      notes: [`docker CLI: ${dockerVersion}`, ...(compose ? [] : [`docker-compose side skipped: ${ctx.compose.reason}`])],
      measurements,
    };
  },
};
