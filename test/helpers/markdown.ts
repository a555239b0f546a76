import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Markdown link checking for the docs tests: GitHub's heading anchors, and every relative
// link of a file that does not reach a file or a heading.

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
