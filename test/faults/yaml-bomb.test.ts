/**
 * Guarantee 29 (reliability.md), YAML bombs bounded: the billion-laughs fixture is refused by the
 * real loader before it expands (test/unit/definition-errors.test.ts checks the error and where it
 * points), and the memory that costs is bounded: a child process loads the fixture through the
 * built loader (dist/definition/resolve.js) and reports its resident set before and after, and the
 * high-water mark (getrusage maxRSS). Fully expanded, the fixture is 9^9 strings (gigabytes); the
 * bound is 50 MB. The time it takes is a benchmark figure (`npm run bench -- --only definition`),
 * not a test.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const RESOLVE = fileURLToPath(new URL('../../dist/definition/resolve.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/invalid/', import.meta.url));
const MB = 1024 * 1024;

/** Loads `file` in a fresh Node process; returns the error code and the memory figures (bytes). */
async function loadInChild(file: string): Promise<{ code: string | null; rssBefore: number; rssAfter: number; maxRssBefore: number; maxRssAfter: number }> {
  const script = `
    const { loadDefinition } = await import(${JSON.stringify(RESOLVE)});
    const options = { cwd: ${JSON.stringify(FIXTURES)}, file: ${JSON.stringify(file)}, processEnv: {} };
    // A first load of the same file warms the modules and the parser, so "before" is steady state.
    await loadDefinition(options).catch(() => undefined);
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const maxRssBefore = process.resourceUsage().maxRSS * 1024;
    let code = null;
    try { await loadDefinition(options); } catch (error) { code = error.code ?? String(error); }
    const rssAfter = process.memoryUsage().rss;
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    process.stdout.write(JSON.stringify({ code, rssBefore, rssAfter, maxRssBefore, maxRssAfter }));
  `;
  const child = await execa(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { reject: false, timeout: 60_000 });
  expect(child.exitCode, String(child.stderr)).toBe(0);
  return JSON.parse(String(child.stdout)) as Awaited<ReturnType<typeof loadInChild>>;
}

describe('billion laughs through the real loader', () => {
  it('is refused (ALIAS_LIMIT) with the process growing by less than 50 MB, high-water mark included', async () => {
    const seen = await loadInChild('billion-laughs.yaml');
    expect(seen.code).toBe('ALIAS_LIMIT');
    const growth = seen.rssAfter - seen.rssBefore;
    // The high-water mark only counts when the load itself raised it (not the imports before).
    const peakGrowth = seen.maxRssAfter > seen.maxRssBefore ? seen.maxRssAfter - seen.rssBefore : 0;
    const figures = `rss ${(seen.rssBefore / MB).toFixed(1)} → ${(seen.rssAfter / MB).toFixed(1)} MB, maxRSS ${(seen.maxRssBefore / MB).toFixed(1)} → ${(seen.maxRssAfter / MB).toFixed(1)} MB`;
    expect(growth, figures).toBeLessThan(50 * MB);
    expect(peakGrowth, figures).toBeLessThan(50 * MB);
  });
});
