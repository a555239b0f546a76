import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { tempDir } from '../../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const DIR = path.join(ROOT, '.github/workflows');
const WORKFLOWS = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const validator = path.join(ROOT, 'node_modules/.bin/action-validator');
const validate = (file: string) => spawnSync(validator, [file], { encoding: 'utf8' });

describe('GitHub Actions workflows', () => {
  it('exist: ci and release', () => {
    assert.deepEqual(WORKFLOWS.sort(), ['ci.yml', 'release.yml']);
  });

  it('pass the workflow schema (@action-validator/cli, offline)', () => {
    for (const f of WORKFLOWS) {
      const r = validate(path.join(DIR, f));
      assert.equal(r.status, 0, `${f}: ${r.stdout}${r.stderr}`);
    }
  });

  it('the validator can fail: a job without runs-on', () => {
    const bad = path.join(tempDir('loupe-wf-'), 'bad.yml');
    writeFileSync(bad, 'on: push\njobs:\n  x:\n    step:\n      - run: echo\n');
    assert.notEqual(validate(bad).status, 0);
  });

  it('pin every action by a full commit SHA, with its version in a comment', () => {
    let count = 0;
    for (const f of WORKFLOWS) {
      for (const line of readFileSync(path.join(DIR, f), 'utf8').split('\n')) {
        const m = /^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/.exec(line);
        // A workflow of this repository (release calls ci) comes from the same commit.
        if (!m || m[1]!.startsWith('./')) continue;
        count++;
        assert.match(m[1]!, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${f}: ${line.trim()}`);
        assert.match(m[2]!, /^\s+# v\d+\.\d+\.\d+$/, `${f}: ${line.trim()} names its version`);
      }
    }
    assert.ok(count >= 10, `found ${count} uses:`);
  });

  it('test with PostgreSQL and the container tests; release scans, signs, pushes and attaches', () => {
    const ci = parse(readFileSync(path.join(DIR, 'ci.yml'), 'utf8'));
    assert.ok(ci.jobs.test.services.postgres);
    assert.match(JSON.stringify(ci.jobs.test.steps), /npm test/);
    // What the tests need on an Ubuntu runner: the parity test's data set, a browser, a registry.
    assert.match(JSON.stringify(ci.jobs.test.steps), /apt-get install [^"]*dataset-fashion-mnist/);
    assert.equal(ci.jobs.test.env.LOUPE_REQUIRE_BROWSER, '1');
    assert.match(JSON.stringify(ci.jobs.containers.steps), /apt-get install [^"]*docker-registry/);
    assert.match(JSON.stringify(ci.jobs.containers.steps), /npm run test:containers/);
    assert.ok('workflow_call' in ci.on, 'release runs the CI first');
    const rel = readFileSync(path.join(DIR, 'release.yml'), 'utf8');
    const release = parse(rel);
    assert.deepEqual(release.on.push.tags, ['v[0-9]+.[0-9]+.[0-9]+*']);
    assert.equal(release.jobs.image.permissions['id-token'], 'write');
    assert.equal(release.jobs.ci.uses, './.github/workflows/ci.yml');
    assert.equal(release.jobs.image.needs, 'ci');
    for (const s of [
      'cache-from: type=gha',
      'ignore-unfixed: true',
      'severity: HIGH,CRITICAL',
      'exit-code: "1"',
      'cosign sign --yes',
      'sbom-image.cdx.json',
      'trivy-report.json',
      "|| 'ghcr.io'",
      '${IMAGE_NAME,,}',
    ])
      assert.ok(rel.includes(s), s);
  });

  // Its docker entries cannot see `FROM ${BASE_IMAGE}` (dependabot-core#2057; docs/release.md, CI/CD).
  it('Dependabot is configured for npm, docker and the actions', () => {
    const dep = parse(readFileSync(path.join(ROOT, '.github/dependabot.yml'), 'utf8'));
    assert.equal(dep.version, 2);
    const ecosystems = new Set(dep.updates.map((u: { 'package-ecosystem': string }) => u['package-ecosystem']));
    assert.deepEqual([...ecosystems].sort(), ['docker', 'github-actions', 'npm']);
  });
});
