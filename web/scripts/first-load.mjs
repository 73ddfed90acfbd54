// The first load's weight: index.html and every script, preload and stylesheet it names,
// each gzipped (level 9, as the local stack serves them). Fails above the budget (issue 10).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 170 * 1000;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"));
const assets = [...html.toString().matchAll(/(?:src|href)="\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
const sizes = [["index.html", gzipSync(html, { level: 9 }).length]];
for (const asset of assets) sizes.push([asset, gzipSync(readFileSync(join(dist, asset)), { level: 9 }).length]);
const total = sizes.reduce((sum, [, size]) => sum + size, 0);
for (const [name, size] of sizes) console.log(`${(size / 1000).toFixed(1).padStart(7)} kB  ${name}`);
console.log(`${(total / 1000).toFixed(1).padStart(7)} kB  first load, gzipped (budget ${BUDGET / 1000} kB)`);
if (total > BUDGET) {
  console.error("first load over budget: load more on demand (React.lazy, dynamic import)");
  process.exit(1);
}
