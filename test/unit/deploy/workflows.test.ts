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
    // Debian's postinst starts the registry's own service (htpasswd) on :5000 where systemd runs.
    assert.match(
      JSON.stringify(ci.jobs.containers.steps),
      /docker-registry[^"]*systemctl disable --now docker-registry/,
    );
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
      'push-by-digest=true',
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

  type Step = { name?: string; uses?: string; run?: string; id?: string; with?: Record<string, string> };
  const stepsOf = (file: string, job: string): Step[] =>
    parse(readFileSync(path.join(DIR, file), 'utf8')).jobs[job].steps as Step[];
  const indexOf = (steps: Step[], re: RegExp) =>
    steps.findIndex((s) => re.test([s.name, s.uses, s.run, JSON.stringify(s.with ?? {})].join('\n')));

  it('release: one build, pushed by digest; Trivy scans, cosign signs and attests that digest, then the tags', () => {
    const steps = stepsOf('release.yml', 'image');
    const builds = steps.filter((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.equal(builds.length, 1, 'exactly one build');
    const build = builds[0]!;
    assert.match(build.with!.outputs!, /push-by-digest=true/);
    assert.match(build.with!.outputs!, /push=true/);
    assert.equal(build.with!.tags, undefined, 'no tag before the scan and the signature');
    assert.ok(!steps.some((s) => /docker (build|push) /.test(s.run ?? '')), 'no second build or push');
    const digestStep = steps.find((s) => s.run?.includes('REF=${IMAGE}@${{ steps.build.outputs.digest }}'));
    assert.ok(digestStep, 'REF is the digest the build pushed');
    const trivy = steps.filter((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    assert.equal(trivy.length, 3);
    for (const t of trivy) assert.equal(t.with!['image-ref'], '${{ env.REF }}', t.name);
    const sign = steps.find((s) => s.run?.includes('cosign sign --yes "$REF"'));
    assert.ok(sign?.run?.includes('cosign attest --yes --type cyclonedx --predicate sbom-image.cdx.json "$REF"'));
    assert.ok(sign?.run?.includes('cosign verify '));
    const order = [
      indexOf(steps, /build-push-action/),
      indexOf(steps, /fail on fixable/),
      indexOf(steps, /cosign sign --yes/),
      indexOf(steps, /imagetools create/),
    ];
    assert.ok(order.every((i) => i >= 0) && order.join() === [...order].sort((a, b) => a - b).join(), String(order));
    assert.match(steps[order[3]!]!.run!, /imagetools create "\$\{args\[@\]\}" "\$REF"/);
  });

  it('release: the chart is stamped from the tag, packaged, pushed (OCI) and signed; notes carry the digests', () => {
    const steps = stepsOf('release.yml', 'image');
    const stamp = indexOf(steps, /release-version\.ts --version "\$VERSION" --image "\$IMAGE" --digest "\$DIGEST"/);
    const chart = steps.find((s) => s.run?.includes('helm push'))!;
    assert.ok(stamp >= 0 && stamp < steps.indexOf(chart), 'stamped before packaging');
    for (const s of [
      'helm package deploy/helm/loupe',
      'helm push "dist-chart/loupe-${VERSION}.tgz" "$CHART_REPO"',
      'cosign sign --yes',
    ])
      assert.ok(chart.run!.includes(s), s);
    const notes = steps.find((s) => s.run?.includes('release-notes.md'))!;
    assert.match(notes.run!, /\$\{IMAGE\}@\$\{DIGEST\}/);
    assert.match(notes.run!, /CHART_DIGEST/);
    const gh = steps.find((s) => s.uses?.startsWith('softprops/action-gh-release@'))!;
    assert.equal(gh.with!.body_path, 'release-notes.md');
    for (const f of ['dist-chart/loupe-*.tgz', 'cluster-serving-runtime-*.yaml', 'sbom-image.cdx.json'])
      assert.ok(gh.with!.files!.includes(f), f);
  });

  it('kind job: cluster, image loaded, chart with in-chart PostgreSQL, predictions, upgrade, helm test, KServe dry run', () => {
    const ci = parse(readFileSync(path.join(DIR, 'ci.yml'), 'utf8'));
    const steps = ci.jobs.kind.steps as Step[];
    const kind = steps.find((s) => s.uses?.startsWith('helm/kind-action@'));
    assert.ok(kind, 'helm/kind-action');
    const text = (re: RegExp) => indexOf(steps, re);
    const order = [
      text(/docker build -t loupe:kind-1/),
      steps.indexOf(kind),
      text(/kind load docker-image loupe:kind-1/),
      text(/helm install loupe [\s\S]*kind-values\.yaml[\s\S]*--wait/),
      text(/port-forward svc\/loupe-gateway 18000:8000 18001:8001/),
      text(/docker build -t loupe:kind-2/),
      text(/helm upgrade loupe [\s\S]*image\.tag=kind-2[\s\S]*--wait/),
      text(/helm test loupe/),
      text(/--dry-run=server -f deploy\/kserve\/cluster-serving-runtime\.yaml/),
    ];
    assert.ok(
      order.every((i) => i >= 0),
      String(order),
    );
    assert.equal(order.join(), [...order].sort((a, b) => a - b).join(), 'in this order');
    const forward = steps[order[4]!]!.run!;
    assert.match(forward, /LOUPE_GRPC=127\.0\.0\.1:18001/);
    assert.match(forward, /files\/smoke\.mjs/);
    assert.match(JSON.stringify(steps), /--dry-run=server -f deploy\/kserve\/inference-service\.yaml/);
    // The CRDs come from the KServe commit the vendored schemas were taken from.
    const source = readFileSync(path.join(ROOT, 'deploy/kserve/schemas/SOURCE.md'), 'utf8');
    const commit = /commit ([0-9a-f]{40})/.exec(source)![1]!;
    assert.equal(ci.jobs.kind.env.KSERVE_REF, commit);
    const crds = steps.find((s) => s.run?.includes('kubectl apply --server-side'))!.run!;
    assert.match(crds, /\/kserve\/kserve\/\$KSERVE_REF\/config\/crd\/full"/);
    for (const crd of ['clusterservingruntimes', 'inferenceservices'])
      assert.ok(crds.includes(`$base/serving.kserve.io_${crd}.yaml`), crd);
    const values = parse(readFileSync(path.join(ROOT, 'deploy/helm/loupe/ci/kind-values.yaml'), 'utf8'));
    assert.equal(values.postgresql.enabled, true);
    assert.equal(values.image.pullPolicy, 'Never', 'the loaded image, never a registry');
    assert.equal(values.image.tag, 'kind-1');
  });
});
