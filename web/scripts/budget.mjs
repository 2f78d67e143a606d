// The UI's size budget (docs/benchmarks.md, W1): every JavaScript and CSS file of the build,
// gzip-compressed, together under 150 KB. Prints the figure; fails the build past it.
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';

const budget = 150 * 1024;
const out = process.argv[2];
let raw = 0;
let gzip = 0;
const walk = (dir) => {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (/\.(js|css)$/.test(entry.name)) {
      const data = readFileSync(path);
      raw += data.length;
      gzip += gzipSync(data, {level: 9}).length;
    }
  }
};
walk(out);
const kb = (n) => (n / 1024).toFixed(1);
console.log(`web: JS + CSS ${kb(raw)} KB, ${kb(gzip)} KB gzip (budget ${kb(budget)} KB gzip)`);
if (gzip > budget) {
  console.error('web: over the size budget');
  process.exit(1);
}
