import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

// Every relative link in the Markdown a maintainer reads (the front page, ARCHITECTURE,
// CONTRIBUTING, docs/) must reach a file, and a #fragment a heading of the Markdown file it
// names, so moving a section cannot silently strand the pages that point at it.
const ROOT = path.resolve(import.meta.dirname, '../../..');

/** GitHub's heading anchor: the rendered text, lower-cased, punctuation dropped, spaces → '-'. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image shows its text
    .replace(/<[^>]+>/g, ''); // inline HTML renders no text of its own
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Lines outside fenced code blocks, where Markdown syntax means something. */
function prose(markdown: string): string[] {
  let fence: string | null = null;
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\s*(```|~~~)/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]!;
      else if (m[1] === fence) fence = null;
      continue;
    }
    if (fence === null) out.push(line);
  }
  return out;
}

/** Anchors a Markdown file offers: heading slugs (repeats get -1, -2 as on GitHub) and HTML ids. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id[1]!);
  }
  return anchors;
}

/** Link targets in prose: inline links and images, reference definitions, HTML href/src. */
export function linksOf(markdown: string): string[] {
  const links: string[] = [];
  for (const raw of prose(markdown)) {
    const line = raw.replace(/`[^`]*`/g, '``'); // a link written in a code span is an example
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1]!);
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (def) links.push(def[1]!);
    for (const m of line.matchAll(/\b(?:href|src)="([^"]+)"/g)) links.push(m[1]!);
  }
  return links;
}

/** What is wrong with each relative link of `file` (a path under ROOT), as readable lines. */
export function brokenLinks(root: string, file: string): string[] {
  const problems: string[] = [];
  const abs = path.join(root, file);
  const markdown = readFileSync(abs, 'utf8');
  for (const link of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:… are not ours to check
    const hash = link.indexOf('#');
    const target = decodeURIComponent(hash < 0 ? link : link.slice(0, hash));
    const fragment = hash < 0 ? '' : decodeURIComponent(link.slice(hash + 1));
    const dest = target === '' ? abs : path.resolve(path.dirname(abs), target);
    if (target !== '' && !existsSync(dest)) {
      problems.push(`${file}: ${link} → no such file`);
      continue;
    }
    if (fragment === '' || !dest.endsWith('.md') || statSync(dest).isDirectory()) continue;
    if (!anchorsOf(readFileSync(dest, 'utf8')).has(fragment))
      problems.push(`${file}: ${link} → no heading #${fragment}`);
  }
  return problems;
}

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
