/** Small file-system and environment helpers shared by the loader, the exports, the state files and the CLI. */
import { access, open, type FileHandle } from 'node:fs/promises';

/** Whether something exists at `path` (any type; a dangling symlink counts as absent). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** An environment switch such as `CI` or `ENVCTL_REQUIRE_TRUST`: set, and not '', '0' or 'false'. */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * Writes `bytes` at the end of a file opened for appending whose whole content is `size` bytes
 * long. A write that fails or only partly lands (a full disk takes what fits in the file's last
 * page and reports a short write, code ENOSPC here) is cut back to `size`, so no partial line is
 * left for the next append to join. Throws the file system's error.
 */
export async function appendWhole(handle: FileHandle, bytes: Uint8Array, size: number, options: { sync?: boolean } = {}): Promise<void> {
  try {
    const { bytesWritten } = await handle.write(bytes);
    if (bytesWritten !== bytes.length) throw Object.assign(new Error(`short write: ${bytesWritten} of ${bytes.length} bytes (ENOSPC)`), { code: 'ENOSPC' });
    if (options.sync) await handle.sync();
  } catch (error) {
    await handle.truncate(size).catch(() => undefined);
    throw error;
  }
}

/** Appends one line to a file (created 0600), whole or not at all (see `appendWhole`). */
export async function appendLine(path: string, line: string): Promise<void> {
  const handle = await open(path, 'a', 0o600);
  try {
    await appendWhole(handle, Buffer.from(line), (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}
