/**
 * Bundles the standalone server (and the benchmark's processes) with esbuild
 * into plain ESM that `node` runs directly, so `npm start` and the benchmark
 * do not run through tsx at runtime. Why it matters: tsx keeps function names
 * by wrapping every named closure in `__name()`, which gives each closure its
 * own property store (~250 bytes); with several closures per DDP session that
 * was ~2 KB per connection. npm packages stay external (node_modules).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export async function buildServer(entryPoints: Record<string, string>, outdir: string): Promise<void> {
  await build({
    entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, path]) => [name, root(path)])),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    outdir: root(outdir),
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildServer({ standalone: 'imports/standalone/main.ts' }, 'dist');
}
