/**
 * The bench's own view of the engine (dockerode, as envctl's tests use it): waiting until a
 * project's containers are healthy, comparing what two tools created, and removing what a bench
 * project left behind. envctl objects are found by `dev.envctl.project`, Compose's by
 * `com.docker.compose.project`.
 */
import Docker from 'dockerode';

export const ENVCTL_PROJECT_LABEL = 'dev.envctl.project';
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** Only unix sockets: the bench runs on the machine whose engine it measures. */
export function connectDocker(env = process.env) {
  const host = env.DOCKER_HOST?.trim();
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  return new Docker({ socketPath, timeout: 30_000 });
}

export async function projectContainers(docker, labelKey, project) {
  return docker.listContainers({ all: true, filters: { label: [`${labelKey}=${project}`] } });
}

/**
 * Resolves once `count` containers of the project are running and, those with a healthcheck,
 * healthy, polling the engine every `pollMs` (ms); rejects after `timeoutMs` naming the
 * containers that are not, or as soon as `signal` aborts.
 */
export async function waitProjectHealthy(docker, { labelKey, project, count, pollMs = 50, timeoutMs = 120_000, signal }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const containers = await projectContainers(docker, labelKey, project);
    // The list's Status reads "Up 3 seconds (healthy)", "(health: starting)", "(unhealthy)", or has no
    // parenthesis without a healthcheck: no per-container inspect needed.
    const notReady = containers.filter((container) => container.State !== 'running' || /\((health: starting|unhealthy)\)/.test(container.Status));
    if (containers.length === count && notReady.length === 0) return;
    if (Date.now() > deadline) {
      const detail = notReady.map((container) => `${container.Names[0]}: ${container.Status}`).join(', ');
      throw new Error(`${project}: ${containers.length}/${count} containers, not healthy after ${timeoutMs} ms: ${detail || 'none created'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * What makes two tools' containers "the same work", per service: the fields a user wrote, as the
 * engine holds them. Names, labels, hostnames and network names legitimately differ.
 */
export async function describeProjectContainers(docker, { labelKey, serviceLabelKey, project }) {
  const described = {};
  for (const summary of await projectContainers(docker, labelKey, project)) {
    const info = await docker.getContainer(summary.Id).inspect();
    described[summary.Labels[serviceLabelKey]] = {
      image: info.Config.Image,
      cmd: info.Config.Cmd,
      init: info.HostConfig.Init === true,
      healthcheck: info.Config.Healthcheck,
      mounts: info.Mounts.map((mount) => `${mount.Type}:${mount.Destination}`).sort(),
      ports: Object.entries(info.HostConfig.PortBindings ?? {}).map(([port, bindings]) => `${bindings.map((binding) => `${binding.HostIp}:${binding.HostPort}`).join(',')}->${port}`),
      restart: info.HostConfig.RestartPolicy?.Name || 'no',
    };
  }
  return described;
}

/** Lines naming every field where the two descriptions differ (host ports are expected to). */
export function compareDescriptions(left, right, { leftName, rightName }) {
  const differences = [];
  for (const service of new Set([...Object.keys(left), ...Object.keys(right)])) {
    if (!left[service] || !right[service]) {
      differences.push(`${service}: only in ${left[service] ? leftName : rightName}`);
      continue;
    }
    for (const field of Object.keys(left[service])) {
      if (field === 'ports') {
        const shape = (ports) => ports.map((port) => port.replace(/:\d+->/, ':*->'));
        if (JSON.stringify(shape(left[service].ports)) !== JSON.stringify(shape(right[service].ports))) differences.push(`${service}.ports: ${leftName} ${left[service].ports} vs ${rightName} ${right[service].ports}`);
        continue;
      }
      const [a, b] = [JSON.stringify(left[service][field]), JSON.stringify(right[service][field])];
      if (a !== b) differences.push(`${service}.${field}: ${leftName} ${a} vs ${rightName} ${b}`);
    }
  }
  return differences;
}

/**
 * Force-removes everything labelled with the project (containers, networks, volumes and, for
 * envctl's built images, images). Used on failure and Ctrl-C, and as the final sweep; returns
 * what it removed.
 */
export async function removeLabelledProject(docker, { labelKey, project, images = false }) {
  const filters = { label: [`${labelKey}=${project}`] };
  const removed = [];
  for (const container of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(container.Id).remove({ force: true, v: true }).catch(ignoreMissing);
    removed.push(`container ${container.Names[0]}`);
  }
  for (const network of await docker.listNetworks({ filters })) {
    await docker.getNetwork(network.Id).remove().catch(ignoreMissing);
    removed.push(`network ${network.Name}`);
  }
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker.getVolume(volume.Name).remove().catch(ignoreMissing);
    removed.push(`volume ${volume.Name}`);
  }
  if (images) {
    for (const image of await docker.listImages({ filters })) {
      await docker.getImage(image.Id).remove({ force: true }).catch(ignoreMissing);
      removed.push(`image ${image.RepoTags?.[0] ?? image.Id}`);
    }
  }
  return removed;
}

function ignoreMissing(error) {
  if (error?.statusCode !== 404) throw error;
}
