/**
 * Remembered content hashes of build-context files, keyed by path and validated by size, mtime and
 * inode (as git's index does), so a no-change `up` does not re-read every file of every context.
 * A file modified less than RACY_MS before it was hashed is not remembered: its mtime may not
 * change on the next write. A cache that cannot be read is simply started afresh.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import type { FileHashLookup } from '../definition/build-inputs.js';
import { stateDir } from './lock.js';

const RACY_MS = 2_000;

const cacheSchema = z.object({
  version: z.literal(1),
  files: z.record(z.string(), z.tuple([z.number(), z.number(), z.number(), z.string()])),
});

type FileFacts = Parameters<FileHashLookup['lookup']>[1];

export class FileHashCache implements FileHashLookup {
  private readonly seen = new Map<string, [number, number, number, string]>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly known: Record<string, [number, number, number, string]>,
    private readonly now: () => number,
  ) {}

  static async load(projectDir: string, now: () => number): Promise<FileHashCache> {
    const file = join(stateDir(projectDir), 'cache', 'file-hashes.json');
    const parsed = await readFile(file, 'utf8')
      .then((text) => cacheSchema.safeParse(JSON.parse(text)))
      .catch(() => undefined);
    return new FileHashCache(file, parsed?.success ? parsed.data.files : {}, now);
  }

  lookup(path: string, facts: FileFacts): string | undefined {
    const entry = Object.hasOwn(this.known, path) ? this.known[path] : undefined;
    if (!entry || entry[0] !== facts.size || entry[1] !== facts.mtimeMs || entry[2] !== facts.ino) return undefined;
    this.seen.set(path, entry);
    return entry[3];
  }

  remember(path: string, facts: FileFacts, sha256: string): void {
    if (this.now() - facts.mtimeMs < RACY_MS) return;
    this.seen.set(path, [facts.size, facts.mtimeMs, facts.ino, sha256]);
    this.changed = true;
  }

  /** Writes the entries used in this run (others are dropped), when anything new was learnt. */
  async save(): Promise<void> {
    if (!this.changed && this.seen.size === Object.keys(this.known).length) return;
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, JSON.stringify({ version: 1, files: Object.fromEntries(this.seen) }), { mode: 0o600 });
  }
}
