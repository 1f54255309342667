#!/usr/bin/env node
/**
 * Where a command's CPU time goes: reads a V8 .cpuprofile (from `node --cpu-prof`) and prints the
 * top self-time functions, the self time per module (an npm package, a file of envctl's own dist/,
 * or a Node built-in), and the inclusive time of envctl's own functions (time with them on the
 * stack: what the command's phases cost, module loading aside).
 *
 *   node --cpu-prof --cpu-prof-dir /tmp/prof bin/run.js up -f some/envctl.yaml
 *   node bench/cpu-profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--top N]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/cpu-profile-summary.mjs PROFILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(await readFile(positionals[0], 'utf8'));

// Each sample names the node on top of the stack; the time between samples is its self time.
const selfUs = new Map();
for (let index = 0; index < profile.samples.length; index += 1) {
  const id = profile.samples[index];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
}
const totalUs = profile.endTime - profile.startTime;

const byFunction = new Map();
const byModule = new Map();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const module = moduleOf(url, functionName);
  const key = `${functionName || '(anonymous)'}  ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byModule.set(module, (byModule.get(module) ?? 0) + us);
}

// Inclusive: each sample counts once for every distinct envctl function on its stack.
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nodesById = new Map(profile.nodes.map((node) => [node.id, node]));
const inclusive = new Map();
for (let index = 0; index < profile.samples.length; index += 1) {
  const seen = new Set();
  for (let id = profile.samples[index]; id !== undefined; id = parent.get(id)) {
    const { functionName, url, lineNumber } = nodesById.get(id).callFrame;
    if (!/\/dist\//.test(url) || url.includes("/node_modules/") || !functionName) continue;
    seen.add(`${functionName}  ${shortUrl(url)}:${lineNumber + 1}`);
  }
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
}

const print = (title, map) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(us / 1000).toFixed(1).padStart(8)} ms ${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${name}\n`);
  }
};
process.stdout.write(`profile: ${(totalUs / 1000).toFixed(0)} ms wall, ${profile.samples.length} samples\n`);
print('top self time by function', byFunction);
print('self time by module', byModule);
print("inclusive time of envctl's functions (dist/)", inclusive);

/** `node_modules/@scope/pkg/…` → `@scope/pkg`, envctl's dist file → `envctl dist/…`, `node:fs` → `node:fs`. */
function moduleOf(url, functionName) {
  if (!url) return `(${functionName || 'native'})`;
  const inModules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inModules) return inModules[1];
  const inDist = url.match(/\/(dist\/.+)$/);
  if (inDist) return `envctl ${inDist[1]}`;
  if (url.startsWith('node:')) return url;
  return shortUrl(url);
}

function shortUrl(url) {
  return url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(dist|bin)\//, '$1/');
}
