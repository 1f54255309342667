/**
 * Bind sources are checked when the definition loads, but a container started earlier can change
 * the folder afterwards (service a mounts `.`, plants `x -> /etc`; service b mounts `./x`, which did
 * not exist at load). Right before each container is created its bind sources are resolved again
 * (symlinks followed), checked against the same scope and privileged paths, and Docker is handed
 * the resolved real path, so what is mounted is what was checked.
 */
import type { EnvironmentModel, VolumeModel } from '../definition/model.js';
import { isUnder, realpathLenient } from '../definition/path-scope.js';
import { bindDevice, privilegedHostPath } from '../definition/resolve.js';
import { UsageError } from '../errors.js';
import type { ContainerSpec } from './types.js';

export async function confineBindsAtCreate(spec: ContainerSpec, policy: EnvironmentModel['bindPolicy'], service: string): Promise<ContainerSpec> {
  if (!policy || !spec.mounts.some((mount) => mount.type === 'bind')) return spec;
  return { ...spec, mounts: await confineBindMounts(spec.mounts, policy, `service "${service}"`) };
}

/** The same check for a whole model (swarm services are created from it): each service's bind sources resolved and re-checked. */
export async function confineModelBinds(model: EnvironmentModel): Promise<EnvironmentModel> {
  const policy = model.bindPolicy;
  if (!policy || !Object.values(model.services).some((service) => service.mounts.some((mount) => mount.type === 'bind'))) return model;
  const services: EnvironmentModel['services'] = {};
  for (const [name, service] of Object.entries(model.services)) services[name] = { ...service, mounts: await confineBindMounts(service.mounts, policy, `service "${name}"`) };
  return { ...model, services };
}

/**
 * A local volume with `o: bind` and a `device` (a bind mount in disguise): its device was resolved
 * and checked at load; it is checked again right before the volume is created.
 */
export async function confineVolumeDeviceAtCreate(volume: VolumeModel, policy: EnvironmentModel['bindPolicy']): Promise<VolumeModel> {
  const device = bindDevice(volume.driver, volume.driverOpts);
  if (!policy || device === undefined || volume.external) return volume;
  const [checked] = await confineBindMounts([{ type: 'bind', source: device }], policy, `volume "${volume.key}" (driver_opts.device)`);
  return { ...volume, driverOpts: { ...volume.driverOpts, device: checked!.source } };
}

/** `owner` names what mounts them in errors: `service "web"`, `volume "data" (driver_opts.device)`. */
async function confineBindMounts<M extends { type: string; source?: string | undefined }>(input: readonly M[], policy: NonNullable<EnvironmentModel['bindPolicy']>, owner: string): Promise<M[]> {
  const mounts: M[] = [];
  for (const mount of input) {
    if (mount.type !== 'bind' || !mount.source) {
      mounts.push(mount);
      continue;
    }
    const real = await realpathLenient(mount.source);
    const privileged = privilegedHostPath(real);
    const lexicallyPrivileged = privilegedHostPath(mount.source);
    // A path written as privileged was refused or allowed (--allow-privileged) at load; only a change since then is new here.
    if (privileged && !policy.allowPrivileged) {
      throw new UsageError(
        'BIND_SOURCE_CHANGED',
        `${owner}: the bind mount source ${mount.source} now resolves to ${real} (${privileged})${lexicallyPrivileged ? '' : '; a symlink was changed after the definition was checked'}`,
        'remove the symlink (a container may have created it through another bind mount), or pass --allow-privileged if you really mean it',
      );
    }
    if (!privileged && !policy.roots.some((root) => isUnder(root, real))) {
      throw new UsageError(
        'BIND_SOURCE_CHANGED',
        `${owner}: the bind mount source ${mount.source} now resolves to ${real}, outside the project folder; a symlink was changed after the definition was checked`,
        'remove the symlink (a container may have created it through another bind mount), or allow the path explicitly with --allow-outside',
      );
    }
    mounts.push({ ...mount, source: real });
  }
  return mounts;
}
