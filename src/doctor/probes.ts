/** The doctor's probes on the real machine: wired once here, injected into runDoctor. */
import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import { DockerEngine } from '../engine/docker-engine.js';
import { engineLoopbackWarning, probePort } from '../engine/up.js';
import { defaultProxyBundlePath } from '../release/proxy-image.js';
import type { DoctorProbes } from './doctor.js';

export function machineProbes(options: { load: LoadOptions; env: Readonly<Record<string, string | undefined>> }): DoctorProbes {
  return {
    node: { version: process.version, execPath: process.execPath },
    cwd: options.load.cwd,
    engine: () => DockerEngine.fromEnv(options.env),
    loadDefinition: () => loadDefinition(options.load),
    proxyBundlePath: defaultProxyBundlePath(),
    fileSize: async (path) => (await stat(path)).size,
    freeBytes: async (path) => {
      const info = await statfs(path);
      return info.bavail * info.bsize;
    },
    probePort,
    findExecutable: (name) => findOnPath(name, options.env.PATH ?? ''),
    loopbackWarning: engineLoopbackWarning,
  };
}

async function findOnPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter((entry) => entry !== '')) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not in this folder: try the next.
    }
  }
  return undefined;
}
