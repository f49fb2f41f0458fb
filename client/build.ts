/**
 * `npm run build`: bundles the standalone dashboard into client/dist with
 * esbuild (main.js + main.css) and copies index.html. `npm start` and the
 * end-to-end tests run it first.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
mkdirSync(here('./dist'), { recursive: true });
await build({
  entryPoints: [here('./standalone/main.ts')],
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  outdir: here('./dist'),
  logLevel: 'warning',
});
copyFileSync(here('./standalone/index.html'), here('./dist/index.html'));
