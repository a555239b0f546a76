// Regenerates the configuration table in docs/configuration.md and .env.example from the config schema, so
// the documentation cannot drift from the code (a unit test checks both): npm run docs:config
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigSchema } from '../src/config/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

const entries = Object.entries(ConfigSchema.properties) as unknown as Array<
  [string, { default: unknown; description: string }]
>;
const table = [
  '| variable | default | meaning |',
  '| --- | --- | --- |',
  ...entries.map(
    ([k, s]) =>
      `| \`${k}\` | \`${s.default === '' ? '(empty)' : String(s.default)}\` | ${s.description.replace(/\|/g, '\\|')} |`,
  ),
].join('\n');

const docPath = path.join(ROOT, 'docs', 'configuration.md');
const doc = readFileSync(docPath, 'utf8');
const a = doc.indexOf(START);
const b = doc.indexOf(END);
if (a < 0 || b < 0) throw new Error(`docs/configuration.md needs the ${START} … ${END} markers`);
writeFileSync(docPath, `${doc.slice(0, a + START.length)}\n${table}\n${doc.slice(b)}`);

const compose = readFileSync(path.join(ROOT, 'scripts', 'env-compose.txt'), 'utf8');
const env = [
  '# Loupe configuration. Every variable is optional for `loupe serve` (gateway and worker need',
  '# LOUPE_MODEL_SERVER_URL); the values shown are the defaults.',
  '# Export them before `npm start`, pass them with `docker run -e`, or copy this file to .env for',
  '# docker-compose (which also reads the compose-only settings at the end).',
  '',
  ...entries.flatMap(([k, s]) => [`# ${s.description}`, `${k}=${String(s.default)}`, '']),
  compose,
].join('\n');
writeFileSync(path.join(ROOT, '.env.example'), env);
console.log(`wrote ${entries.length} variables to docs/configuration.md and .env.example`);
