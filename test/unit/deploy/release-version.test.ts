import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { stampRelease } from '../../../.github/scripts/release-version.ts';
import { helm } from '../../helpers/helm.ts';
import { tempDir } from '../../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** The chart and the KServe runtime, copied: the release stamps a checkout, not this tree. */
function copyTree(): string {
  const root = tempDir('loupe-stamp-');
  cpSync(path.join(ROOT, 'deploy/helm/loupe'), path.join(root, 'deploy/helm/loupe'), { recursive: true });
  mkdirSync(path.join(root, 'deploy/kserve'), { recursive: true });
  cpSync(
    path.join(ROOT, 'deploy/kserve/cluster-serving-runtime.yaml'),
    path.join(root, 'deploy/kserve/cluster-serving-runtime.yaml'),
  );
  return root;
}

describe('.github/scripts/release-version.ts (release.yml stamps the tag into chart and runtime)', () => {
  it('sets version and appVersion, and the runtime image by tag and digest; comments stay', () => {
    const root = copyTree();
    stampRelease(root, { version: '1.4.0-rc.1', image: 'ghcr.io/acme/loupe', digest: DIGEST });
    const chartText = readFileSync(path.join(root, 'deploy/helm/loupe/Chart.yaml'), 'utf8');
    const chart = parse(chartText);
    assert.equal(chart.version, '1.4.0-rc.1');
    assert.equal(chart.appVersion, '1.4.0-rc.1');
    assert.equal(chart.name, 'loupe');
    const rtText = readFileSync(path.join(root, 'deploy/kserve/cluster-serving-runtime.yaml'), 'utf8');
    assert.equal(parse(rtText).spec.containers[0].image, `ghcr.io/acme/loupe:1.4.0-rc.1@${DIGEST}`);
    assert.match(rtText, /^# KServe ClusterServingRuntime/, 'the header comment is kept');
    // The packaged chart is what gets pushed: it lints, and deploys the release's tag by default.
    const chartDir = path.join(root, 'deploy/helm/loupe');
    assert.equal(helm(['lint', '--strict', chartDir]).status, 0);
    const r = helm(['template', 'rel', chartDir, '--show-only', 'templates/gateway.yaml']);
    assert.match(r.stdout, /image: ghcr\.io\/loupe-project\/loupe:1\.4\.0-rc\.1/);
    const pkg = helm(['package', chartDir, '--destination', root]);
    assert.equal(pkg.status, 0, pkg.stderr);
    assert.match(pkg.stdout, /loupe-1\.4\.0-rc\.1\.tgz/);
  });

  it('refuses what is not a release: a v-less non-SemVer, a bad digest, a tagged image', () => {
    const root = copyTree();
    assert.throws(() => stampRelease(root, { version: '1.4', image: 'ghcr.io/acme/loupe' }), /SemVer/);
    assert.throws(
      () => stampRelease(root, { version: '1.4.0', image: 'ghcr.io/acme/loupe', digest: 'latest' }),
      /digest/,
    );
    assert.throws(() => stampRelease(root, { version: '1.4.0', image: 'ghcr.io/acme/loupe:1.0' }), /without tag/);
    assert.throws(() => stampRelease(root, { version: '1.4.0', image: 'ghcr.io/Acme/loupe' }), /lower-case/);
    // A registry with a port is a repository, not a tag.
    stampRelease(root, { version: '1.4.0', image: '127.0.0.1:5000/loupe' });
    const rt = parse(readFileSync(path.join(root, 'deploy/kserve/cluster-serving-runtime.yaml'), 'utf8'));
    assert.equal(rt.spec.containers[0].image, '127.0.0.1:5000/loupe:1.4.0');
  });
});
