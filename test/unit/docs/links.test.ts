import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { anchorsOf, brokenLinks, slug } from '../../helpers/markdown.ts';

// Every relative link in the Markdown a maintainer reads (the front page, ARCHITECTURE,
// CONTRIBUTING, docs/) must reach a file, and a #fragment a heading of the Markdown file it
// names, so moving a section cannot silently strand the pages that point at it.
const ROOT = path.resolve(import.meta.dirname, '../../..');

function docFiles(): string[] {
  const top = readdirSync(ROOT).filter((f) => f.endsWith('.md'));
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return [...top, ...docs].sort();
}

describe('documentation links', () => {
  it('slugs headings as GitHub does', () => {
    assert.equal(slug('Quick start'), 'quick-start');
    assert.equal(slug('The stack: `docker-compose up`'), 'the-stack-docker-compose-up');
    assert.equal(
      slug('What was validated offline, and what never ran on a cluster'),
      'what-was-validated-offline-and-what-never-ran-on-a-cluster',
    );
    assert.equal(slug('Clients: Triton, KServe, gRPC'), 'clients-triton-kserve-grpc');
    assert.equal(slug('CI/CD'), 'cicd');
    assert.equal(slug('LOUPE_MODEL_URIS and [pulls](x.md)'), 'loupe_model_uris-and-pulls');
    assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>')], ['a', 'a-1', 'x']);
  });

  it('reports a missing file and a missing heading, and ignores code and absolute URLs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'loupe-links-'));
    try {
      writeFileSync(
        path.join(dir, 'a.md'),
        '# Top\n[ok](b.md#there) [gone](c.md) [bad](b.md#nowhere) [self](#top) [web](https://x.y/#z)\n' +
          '`[code](nope.md)`\n```\n[fenced](nope.md)\n```\n[dir](.)\n',
      );
      writeFileSync(path.join(dir, 'b.md'), '## There\n');
      assert.deepEqual(brokenLinks(dir, 'a.md'), [
        'a.md: c.md → no such file',
        'a.md: b.md#nowhere → no heading #nowhere',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every relative link and anchor in README, ARCHITECTURE, CONTRIBUTING and docs/ resolves', () => {
    const files = docFiles();
    assert.ok(files.includes('README.md') && files.includes(path.join('docs', 'api.md')), files.join(', '));
    const problems = files.flatMap((f) => brokenLinks(ROOT, f));
    assert.deepEqual(problems, []);
  });
});
