// Assembles web/dist/: our files from src/ plus uPlot's distribution files from
// node_modules (run `npm ci` first). No bundler: the browser loads ES modules.
import { cpSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const uplot = join(here, 'node_modules', 'uplot');

if (!existsSync(join(uplot, 'dist', 'uPlot.esm.js'))) {
  console.error('build: node_modules/uplot is missing; run `npm ci` in web/ first');
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
cpSync(src, dist, { recursive: true });
mkdirSync(join(dist, 'vendor'), { recursive: true });
cpSync(join(uplot, 'dist', 'uPlot.esm.js'), join(dist, 'vendor', 'uPlot.esm.js'));
cpSync(join(uplot, 'dist', 'uPlot.min.css'), join(dist, 'vendor', 'uPlot.min.css'));
cpSync(join(uplot, 'LICENSE'), join(dist, 'vendor', 'uPlot.LICENSE.txt'));

// A version stamp so a deployment can be checked with `curl .../version.json`.
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const uplotPkg = JSON.parse(readFileSync(join(uplot, 'package.json'), 'utf8'));
writeFileSync(join(dist, 'version.json'),
  JSON.stringify({ web: pkg.version, uplot: uplotPkg.version }) + '\n');
console.log(`build: web/dist ready (uPlot ${uplotPkg.version})`);
