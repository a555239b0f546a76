import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { slug } from '../../helpers/markdown.ts';

// The README is the front page: short enough to read, with a contents list that names every
// section, and the two quick-start commands the CI runs (.ci/run) word for word.
const readme = readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8');

describe('README as a front page', () => {
  it('stays at most 400 lines', () => {
    const lines = readme.split('\n').length;
    assert.ok(lines <= 400, `README.md has ${lines} lines; move reference material to docs/`);
  });

  it('lists every section in its contents, in order', () => {
    const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]!).filter((h) => h !== 'Contents');
    const contents = readme.slice(
      readme.indexOf('## Contents'),
      readme.indexOf('\n## ', readme.indexOf('## Contents') + 1),
    );
    const listed = [...contents.matchAll(/^- \[[^\]]+\]\(#([^)]+)\)$/gm)].map((m) => m[1]!);
    assert.deepEqual(listed, sections.map(slug));
  });

  it('keeps the quick start true: npm install && npm start, npm test', () => {
    assert.match(readme, /^npm install && npm start\s/m);
    assert.match(readme, /^npm test\s/m);
  });
});
