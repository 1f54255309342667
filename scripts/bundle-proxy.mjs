// Bundles the release proxy process (src/proxy/main.ts and everything it imports, npm packages
// included) into one ESM file that runs with plain `node bundle.mjs CONFIG.json`, no node_modules:
// the proxy image (src/release/proxy-image.ts) is just Node plus this file.
//
// Usage: node scripts/bundle-proxy.mjs [OUTFILE]   (default dist/proxy/bundle.mjs; `npm run build` runs it)
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('../src/proxy/main.ts', import.meta.url));
const outfile = process.argv[2] ?? fileURLToPath(new URL('../dist/proxy/bundle.mjs', import.meta.url));

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (write-file-atomic, hdr-histogram-js, …) call `require` for Node's
  // built-ins and use `__filename` (write-file-atomic names its temp files after it), which an ES
  // module does not have.
  banner: {
    js: [
      "import { createRequire as __envctlCreateRequire } from 'node:module';",
      "import { fileURLToPath as __envctlFileURLToPath } from 'node:url';",
      'const require = __envctlCreateRequire(import.meta.url);',
      'const __filename = __envctlFileURLToPath(import.meta.url);',
    ].join('\n'),
  },
});
console.error(`${outfile.replace(`${process.cwd()}/`, '')}: release proxy bundle`);
