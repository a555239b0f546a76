import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface RenovateConfig {
  enabledManagers: string[];
  customManagers: CustomManager[];
  packageRules: { matchPackageNames?: string[]; enabled?: boolean }[];
  [option: string]: unknown;
}
interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  matchStringsStrategy?: 'any' | 'recursive' | 'combination';
  depNameTemplate?: string;
  datasourceTemplate?: string;
}
/** One dependency a manager found: where, what, which version. */
export interface Dep {
  readonly file: string;
  readonly depName: string;
  readonly currentValue: string;
  readonly manager: string;
}

export const trackedFiles = (): string[] =>
  execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** managerFilePatterns: "/regex/" (Renovate's regex form) or a glob; only the regex form is used here. */
export function filePattern(p: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/.exec(p);
  if (!m) throw new Error(`only /regex/ file patterns are used in this config: ${p}`);
  return new RegExp(m[1]!, m[2]);
}

/** Renovate runs matchStrings with RE2: no lookaround, no backreferences. */
export function re2Incompatible(re: string): boolean {
  return /\(\?<?[=!]|\\[1-9]/.test(re);
}

/** What the regex custom managers extract, as Renovate's "any" and "recursive" strategies do. */
export function customDeps(config: RenovateConfig, files = trackedFiles()): Dep[] {
  const deps: Dep[] = [];
  config.customManagers.forEach((m, i) => {
    const patterns = m.managerFilePatterns.map(filePattern);
    for (const file of files.filter((f) => patterns.some((p) => p.test(f)))) {
      let texts = [read(file)];
      const strings = m.matchStringsStrategy === 'recursive' ? m.matchStrings : [];
      for (const re of strings.slice(0, -1))
        texts = texts.flatMap((t) => [...t.matchAll(new RegExp(re, 'g'))].map((x) => x[0]));
      const last = m.matchStringsStrategy === 'recursive' ? m.matchStrings.slice(-1) : m.matchStrings;
      for (const t of texts)
        for (const re of last)
          for (const x of t.matchAll(new RegExp(re, 'g'))) {
            const depName = m.depNameTemplate ?? x.groups?.depName;
            const currentValue = x.groups?.currentValue;
            if (depName && currentValue) deps.push({ file, depName, currentValue, manager: `custom.regex#${i}` });
          }
    }
  });
  return deps;
}

/** The built-in managers this config enables, as far as the repository's files use them. */
export function builtinDeps(config: RenovateConfig): Dep[] {
  const deps: Dep[] = [];
  const on = (m: string) => config.enabledManagers.includes(m);
  const split = (image: string) => {
    const at = image.lastIndexOf(':');
    return { depName: image.slice(0, at), currentValue: image.slice(at + 1) };
  };
  if (on('github-actions'))
    for (const file of trackedFiles().filter((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f))) {
      const wf = parse(read(file)) as { jobs: Record<string, { services?: Record<string, { image: string }> }> };
      for (const job of Object.values(wf.jobs))
        for (const svc of Object.values(job.services ?? {}))
          deps.push({ file, ...split(svc.image), manager: 'github-actions' });
    }
  if (on('helm-values')) {
    const pattern = filePattern((config['helm-values'] as { managerFilePatterns: string[] }).managerFilePatterns[0]!);
    for (const file of trackedFiles().filter((f) => pattern.test(f))) {
      const walk = (v: unknown): void => {
        if (!v || typeof v !== 'object') return;
        const o = v as Record<string, unknown>;
        if (typeof o.repository === 'string' && typeof o.tag === 'string' && o.tag)
          deps.push({ file, depName: o.repository, currentValue: o.tag, manager: 'helm-values' });
        Object.values(o).forEach(walk);
      };
      walk(parse(read(file)));
    }
  }
  if (on('kubernetes')) {
    const pattern = filePattern((config.kubernetes as { managerFilePatterns: string[] }).managerFilePatterns[0]!);
    for (const file of trackedFiles().filter((f) => pattern.test(f)))
      for (const x of read(file).matchAll(/^\s*image:\s*(\S+)\s*$/gm))
        deps.push({ file, ...split(x[1]!), manager: 'kubernetes' });
  }
  return deps;
}

/** A package rule with `enabled: false` that names this dependency (exact or "prefix/**"). */
export function disabled(config: RenovateConfig, depName: string): boolean {
  return config.packageRules.some(
    (r) =>
      r.enabled === false &&
      (r.matchPackageNames ?? []).some((n) => (n.endsWith('/**') ? depName.startsWith(n.slice(0, -2)) : n === depName)),
  );
}
