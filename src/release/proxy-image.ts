/**
 * The release proxy's image: the locally built Node base image plus the one-file proxy bundle
 * (`dist/proxy/bundle.mjs`, written by `npm run build`). Tagged by the bundle's content hash, so it
 * is built once per envctl version and found again by tag; no registry involved.
 *
 * `docker run IMAGE /path/config.json` runs `node /opt/envctl-proxy/proxy.mjs /path/config.json`
 * under the base image's tini (PID 1 forwards SIGTERM, so `docker stop` drains the proxy).
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../engine/engine.js';
import { EnvironmentError } from '../errors.js';
import { LABEL } from '../labels.js';

/** Built by `npm run setup` from Debian packages and the Node binary; never pulled. */
export const PROXY_BASE_IMAGE = 'envctl/base-node:24';
export const PROXY_IMAGE_REPOSITORY = 'envctl/proxy';
/** Where the bundle sits in the image. */
export const PROXY_BUNDLE_IN_IMAGE = '/opt/envctl-proxy/proxy.mjs';

/** `dist/proxy/bundle.mjs` of the installed package (this module compiles to `dist/release/`). */
export function defaultProxyBundlePath(): string {
  return fileURLToPath(new URL('../proxy/bundle.mjs', import.meta.url));
}

/** `envctl/proxy:<first 12 hex of sha256(bundle)>`. */
export function proxyImageRef(bundle: Uint8Array): string {
  return `${PROXY_IMAGE_REPOSITORY}:${createHash('sha256').update(bundle).digest('hex').slice(0, 12)}`;
}

/** Returns the proxy image's reference, building it first when the engine does not have it. */
export async function ensureProxyImage(engine: Engine, options: { bundlePath?: string; signal: AbortSignal; onLine?: (line: string) => void }): Promise<string> {
  const bundlePath = options.bundlePath ?? defaultProxyBundlePath();
  const bundle = await readFile(bundlePath).catch((error: NodeJS.ErrnoException) => {
    throw new EnvironmentError(
      'PROXY_BUNDLE_MISSING',
      `the release proxy bundle ${bundlePath} cannot be read (${error.code ?? error.message})`,
      'run `npm run build` in the envctl folder: it writes dist/proxy/bundle.mjs',
      error,
    );
  });
  const ref = proxyImageRef(bundle);
  const present = await engine.existingImages([ref, PROXY_BASE_IMAGE]);
  if (present.has(ref)) return ref;
  if (!present.has(PROXY_BASE_IMAGE)) {
    throw new EnvironmentError('PROXY_BASE_IMAGE_MISSING', `the image ${PROXY_BASE_IMAGE}, which the release proxy runs on, is not on this engine`, `run \`envctl images build ${PROXY_BASE_IMAGE}\`: it builds it on this machine (in envctl's repository \`npm run setup\` does too)`);
  }
  const context = await mkdtemp(join(tmpdir(), 'envctl-proxy-image-'));
  try {
    await writeFile(join(context, 'proxy.mjs'), bundle);
    // COPY keeps the file's mode, and the proxy runs as the user's uid, not root: readable by all,
    // whatever the umask.
    await chmod(join(context, 'proxy.mjs'), 0o644);
    await writeFile(join(context, 'Dockerfile'), proxyDockerfile());
    await engine.buildImage(
      { context, dockerfile: 'Dockerfile', args: {}, target: undefined, tag: ref, labels: { [LABEL.buildHash]: ref.slice(ref.indexOf(':') + 1) } },
      options.onLine ?? (() => undefined),
      options.signal,
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return ref;
}

/** The base image's entrypoint is `tini -s --`; the proxy keeps it and appends node and the bundle. */
function proxyDockerfile(): string {
  return [
    `FROM ${PROXY_BASE_IMAGE}`,
    `COPY proxy.mjs ${PROXY_BUNDLE_IN_IMAGE}`,
    `ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "${PROXY_BUNDLE_IN_IMAGE}"]`,
    'CMD []',
    '',
  ].join('\n');
}
