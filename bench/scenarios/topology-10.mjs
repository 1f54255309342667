/**
 * topology-10: the same 10-service, 3-level, health-gated topology brought up and down by envctl
 * and by docker-compose 1.29, one full cycle per tool in turn (A B A B), so drift in the machine's
 * load hits both alike. Each cycle: cold `up` (nothing exists → every container healthy),
 * no-change `up`, `down` (volumes kept, as both tools do by default); then, untimed, the volume is
 * removed with the tool's own `down --volumes`/`down -v` so the next cold `up` starts from nothing.
 */
import { compareDescriptions, describeProjectContainers } from '../lib/docker.mjs';
import { composeDriver, envctlDriver } from '../lib/drivers.mjs';
import { SampleBook } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';
import { TOPOLOGY_PUBLISHERS, TOPOLOGY_SERVICES, writeTopology } from '../lib/topology.mjs';

/** Healthcheck interval (ms): short, but 10 checks a second already keep ~0.4 of a core busy here. */
const HEALTH_INTERVAL_MS = 1_000;

export const MEASUREMENTS = [
  { name: 'cold up', what: 'nothing exists → all 10 services healthy' },
  { name: 'no-change up', what: 'up again with nothing changed' },
  { name: 'down', what: 'stop and remove 10 containers and the network (volume kept)' },
];

export const topology10 = {
  name: 'topology-10',
  summary: `10 services in 3 levels gated on service_healthy (envctl/base-debian:12, sleep infinity, init, healthcheck CMD true every ${HEALTH_INTERVAL_MS} ms, one named volume, 2 ports on 127.0.0.1) vs docker-compose 1.29 on the equivalent Compose file (format 2.4)`,

  async run(ctx) {
    const dir = await ctx.resources.tempDir('topology');
    const envctlProject = `bench-${ctx.runId}-topo-envctl`;
    const composeProject = `bench-${ctx.runId}-topo-compose`;
    const portsFor = async () => Object.fromEntries(await Promise.all(TOPOLOGY_PUBLISHERS.map(async (name) => [name, await freeLoopbackPort()])));
    const { envctlFile, composeFile } = await writeTopology({ dir, envctlProject, envctlPorts: await portsFor(), composePorts: await portsFor(), healthIntervalMs: HEALTH_INTERVAL_MS });

    const drivers = [envctlDriver({ ctx, project: envctlProject, file: envctlFile, serviceCount: TOPOLOGY_SERVICES.length })];
    ctx.resources.trackEnvctlProject(envctlProject);
    if (ctx.compose.available) {
      drivers.push(composeDriver({ ctx, project: composeProject, file: composeFile, serviceCount: TOPOLOGY_SERVICES.length }));
      ctx.resources.trackComposeProject(composeProject, composeFile);
    }

    const book = new SampleBook();
    const notes = [];
    const descriptions = {};
    for (let rep = 0; rep <= ctx.reps; rep += 1) {
      const warmup = rep === 0;
      for (const driver of drivers) {
        ctx.progress(`topology-10 ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`} ${driver.tool}`);
        const cold = await driver.up();
        book.add('cold up', driver.tool, cold.ms, { warmup, excluded: cold.changed ? undefined : 'created nothing', internalMs: cold.internalMs });
        if (warmup) descriptions[driver.tool] = await describeProjectContainers(ctx.docker, driver);
        const again = await driver.up();
        book.add('no-change up', driver.tool, again.ms, { warmup, excluded: again.changed ? 'changed something' : undefined, internalMs: again.internalMs });
        const down = await driver.down();
        book.add('down', driver.tool, down.ms, { warmup, internalMs: down.internalMs });
        await driver.assertGone();
        await driver.downVolumes();
      }
    }

    if (descriptions['docker-compose']) {
      const differences = compareDescriptions(descriptions.envctl, descriptions['docker-compose'], { leftName: 'envctl', rightName: 'docker-compose' });
      if (differences.length > 0) {
        notes.push(`the two tools' containers differ: ${differences.join('; ')}`);
        ctx.log(`warning: topology-10: the containers are not equivalent: ${differences.join('; ')}`);
      } else {
        notes.push('equivalence checked: per service the same image, command, init, healthcheck, mounts, port shape and restart policy in both tools');
      }
    } else {
      notes.push(`docker-compose side skipped: ${ctx.compose.reason}`);
    }

    return {
      name: this.name,
      summary: this.summary,
      notes,
      measurements: MEASUREMENTS.map(({ name, what }) => ({
        name,
        what,
        envctl: book.side(name, 'envctl'),
        peer: ctx.compose.available ? book.side(name, 'docker-compose') : null,
      })),
    };
  },
};
