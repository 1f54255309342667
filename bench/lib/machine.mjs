/** What the numbers were measured on: they only compare within one run on one machine. */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { execa } from 'execa';

export async function describeMachine({ docker, repoDir, composeVersion }) {
  const engine = await docker.version();
  const info = await docker.info();
  const git = await execa('git', ['-C', repoDir, 'describe', '--always', '--dirty'], { reject: false, stdin: 'ignore' });
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    loadAverageAtStart: loadavg().map((load) => Math.round(load * 100) / 100),
    docker: { engine: engine.Version, apiVersion: engine.ApiVersion, storageDriver: info.Driver, runningContainersAtStart: info.ContainersRunning },
    node: process.version,
    envctl: git.failed ? 'unknown' : git.stdout.trim(),
    dockerCompose: composeVersion ?? null,
  };
}

export function machineLine(machine) {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Docker Engine ${machine.docker.engine} (${machine.docker.storageDriver}); Node ${machine.node}; envctl ${machine.envctl}; docker-compose ${machine.dockerCompose ?? 'not measured'}`;
}
