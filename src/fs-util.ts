/** Small file-system and environment helpers shared by the loader, the exports and the CLI. */
import { access } from 'node:fs/promises';

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
