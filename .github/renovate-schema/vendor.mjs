// Regenerates renovate-schema.json from the `renovate` npm package's own schema, without its
// description texts (most of its 460 KB and none of its rules; a config *option* named
// `description`, an object in `properties`, stays):
//   npm pack renovate@<version> && tar xzf renovate-<version>.tgz package/renovate-schema.json
//   node .github/renovate-schema/vendor.mjs package/renovate-schema.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const strip = (v) =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k, x]) => !(typeof x === 'string' && (k === 'description' || k === 'markdownDescription')))
            .map(([k, x]) => [k, strip(x)]),
        )
      : v;

const [src] = process.argv.slice(2);
if (!src) throw new Error('usage: vendor.mjs <renovate-schema.json>');
const out = path.join(import.meta.dirname, 'renovate-schema.json');
writeFileSync(out, JSON.stringify(strip(JSON.parse(readFileSync(src, 'utf8')))) + '\n');
console.log(`wrote ${out}`);
