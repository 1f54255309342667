/**
 * `templates/`: file trees copied as they are, with `{{envctl.KEY}}` placeholders replaced in their
 * text. Logic-less on purpose (no conditions, no code): a template is data. Other `{{ … }}`, such as
 * GitHub Actions' `${{ github.sha }}`, are left alone.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The templates folder shipped with envctl (package.json `files` includes it): two levels above `src/init` or `dist/init`. */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface TemplateFile {
  /** Path inside the generated project, `/`-separated. */
  path: string;
  content: Buffer;
  /** File mode: 0o755 when the template file is executable, otherwise 0o644. */
  mode: number;
}

export type TemplateValues = Readonly<Record<string, string>>;

const PLACEHOLDER = /\{\{envctl\.([A-Za-z][A-Za-z0-9]*)\}\}/g;

/**
 * npm leaves every `.gitignore` out of a published package, so templates store it as `gitignore`
 * and it gets its dot back here.
 */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

/** Replaces each `{{envctl.KEY}}`; a key without a value is a bug in the template or its caller. */
export function renderText(text: string, values: TemplateValues, where: string): string {
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    if (!Object.hasOwn(values, key)) throw new Error(`template ${where}: no value for {{envctl.${key}}} (known: ${Object.keys(values).join(', ')})`);
    return values[key]!;
  });
}

/** Every file under `dir` (sorted, dotfiles included), its text rendered, its path relative to `dir`. */
export async function renderTemplateTree(dir: string, values: TemplateValues): Promise<TemplateFile[]> {
  const files: TemplateFile[] = [];
  for (const relative of await listFiles(dir)) {
    const source = join(dir, relative);
    const raw = await readFile(source);
    const info = await stat(source);
    const segments = relative.split(sep);
    const name = segments.pop()!;
    const path = posix.join(...segments, RENAMED[name] ?? name);
    // Text files only carry placeholders; anything with a NUL byte is copied untouched.
    const content = raw.includes(0) ? raw : Buffer.from(renderText(raw.toString('utf8'), values, posix.join('templates', path)), 'utf8');
    files.push({ path, content, mode: info.mode & 0o111 ? 0o755 : 0o644 });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.replace(/\/?$/, '/').length));
}
