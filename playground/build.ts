// Builds the playground: one esbuild bundle of the pure core + the page, into playground/dist (static, offline).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundle's size budget (README): the core, the page and three embedded example files. */
export const BUDGET_BYTES = 2_000_000;

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'main.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  outfile: join(out, 'playground.js'),
  loader: { '.o': 'binary', '.pcap': 'binary' },
  metafile: true,
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
const size = statSync(join(out, 'playground.js')).size;
const nodeOnly = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('node:'));
console.log(`playground: ${join(out, 'playground.js')} ${size} bytes (budget ${BUDGET_BYTES})`);
if (nodeOnly.length > 0) {
  console.error(`playground: Node-only modules on the playground's path: ${nodeOnly.join(', ')}`);
  process.exit(1);
}
if (size > BUDGET_BYTES) {
  console.error(`playground: bundle is ${size} bytes, over the ${BUDGET_BYTES}-byte budget`);
  process.exit(1);
}
