// Bundles the CLI's command modules (dist/commands/**, compiled by tsc) and everything they import,
// npm packages included, @oclif/core too (bin/run.js takes `execute` from the oclif-runtime entry,
// so the CLI and its commands share one copy), into dist/bundled/: one ES module per command plus
// shared chunks. Node then loads a few dozen files on start instead of ~300 (oclif, zod, yaml,
// semver…), which is most of a no-change `up`'s wall time. package.json `oclif.commands` points here; the
// unbundled dist/ stays for the `envctl/testing` export and for tests that import modules.
//
// Usage: node scripts/bundle-cli.mjs   (`npm run build` runs it after tsc, before the manifest)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const outdir = join(dist, 'bundled');
const ROOT_MARK = '__ENVCTL_PACKAGE_ROOT__';

function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return commandFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

/**
 * A module that finds files next to itself (`new URL('../proxy/bundle.mjs', import.meta.url)`)
 * keeps finding them: its `import.meta.url` becomes its original dist/ location, resolved from the
 * output file it lands in (the mark is replaced per output file below).
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const own = relative(root, args.path).split('\\').join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(own)}, new URL(${JSON.stringify(ROOT_MARK)}, import.meta.url)).href`),
        loader: 'js',
      };
    });
  },
};

/**
 * `require('punycode')` in a package (ajv-formats-draft2019, under kubernetes-models) means Node's
 * deprecated built-in, which warns (DEP0040) once the caller is no longer under node_modules: the
 * npm package of the same API takes its place.
 */
const userlandPunycode = {
  name: 'userland-punycode',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^(node:)?punycode$/ }, () => ({ path: join(root, 'node_modules', 'punycode', 'punycode.js') }));
  },
};

const result = await build({
  entryPoints: [...commandFiles(join(dist, 'commands')), join(dist, 'cli', 'oclif-runtime.js'), join(dist, 'cli', 'help.js')],
  outbase: dist,
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // oclif requires TypeScript and ts-node only to run a plugin from its sources (never here); native
  // add-ons of dockerode's optional SSH transport cannot be bundled; Ink imports its devtools only
  // when asked.
  external: ['typescript', 'ts-node', 'cpu-features', 'ssh2', '*.node', 'react-devtools-core'],
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
  plugins: [keepModuleUrls, userlandPunycode],
  // CommonJS dependencies call `require` for Node's built-ins and some use __filename/__dirname.
  banner: {
    js: [
      "import { createRequire as __envctlCreateRequire } from 'node:module';",
      "import { fileURLToPath as __envctlFileURLToPath } from 'node:url';",
      "import { dirname as __envctlDirname } from 'node:path';",
      'const require = __envctlCreateRequire(import.meta.url);',
      'const __filename = __envctlFileURLToPath(import.meta.url);',
      'const __dirname = __envctlDirname(__filename);',
    ].join('\n'),
  },
});

/**
 * A CLI started before this build may still import its chunks: chunks are named by content and
 * written before the entries that import them, every file through a rename (never half-written),
 * and chunks no longer used are only removed once they are an hour old.
 */
const chunksDir = join(outdir, 'chunks');
const isChunk = (path) => dirname(path) === chunksDir;
const outputs = [...result.outputFiles].sort((a, b) => Number(isChunk(b.path)) - Number(isChunk(a.path)));
for (const file of outputs) {
  let text = file.text;
  if (text.includes(ROOT_MARK)) {
    const up = `${relative(dirname(file.path), root).split('\\').join('/')}/`;
    text = text.replaceAll(JSON.stringify(ROOT_MARK), JSON.stringify(up));
  }
  mkdirSync(dirname(file.path), { recursive: true });
  if (isChunk(file.path) && existsSync(file.path)) {
    utimesSync(file.path, new Date(), new Date());
    continue;
  }
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file.path);
}
const current = new Set(outputs.map((file) => file.path));
const hourAgo = Date.now() - 3_600_000;
for (const name of existsSync(chunksDir) ? readdirSync(chunksDir) : []) {
  const path = join(chunksDir, name);
  if (!current.has(path) && statSync(path).mtimeMs < hourAgo) rmSync(path, { force: true });
}
const files = outputs.length;
console.error(`${relative(process.cwd(), outdir)}: ${files} files (commands bundled)`);
