// Stamps a release's version into what ships beside the image: the chart's version and
// appVersion (the image tag the chart deploys by default) and the KServe runtime's image,
// pinned by the digest that was scanned and signed. release.yml runs it on the tag's checkout
// before `helm package`; comments and layout of both files are kept.
//   node .github/scripts/release-version.ts --version 1.2.3 --image ghcr.io/o/loupe [--digest sha256:…] [--root DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ReleaseStamp {
  /** SemVer without a leading v (the tag v1.2.3 gives 1.2.3). */
  readonly version: string;
  /** Repository of the pushed image, without tag (ghcr.io/owner/loupe). */
  readonly image: string;
  /** The pushed image's digest; the runtime then names tag and digest. */
  readonly digest?: string | undefined;
}

export function stampRelease(root: string, stamp: ReleaseStamp): { chart: string; runtime: string } {
  if (!SEMVER.test(stamp.version)) throw new Error(`not a SemVer version: ${stamp.version}`);
  if (stamp.digest !== undefined && !DIGEST.test(stamp.digest)) throw new Error(`not a digest: ${stamp.digest}`);
  if (!/^[a-z0-9][a-z0-9._/:-]*$/.test(stamp.image) || /:[^/]*$/.test(stamp.image.replace(/^[^/]*\//, '')))
    throw new Error(`image must be a lower-case repository without tag: ${stamp.image}`);

  const chart = path.join(root, 'deploy/helm/loupe/Chart.yaml');
  const doc = parseDocument(readFileSync(chart, 'utf8'));
  doc.set('version', stamp.version);
  doc.set('appVersion', stamp.version);
  writeFileSync(chart, doc.toString());

  const runtime = path.join(root, 'deploy/kserve/cluster-serving-runtime.yaml');
  const rt = parseDocument(readFileSync(runtime, 'utf8'));
  const ref = `${stamp.image}:${stamp.version}${stamp.digest ? `@${stamp.digest}` : ''}`;
  rt.setIn(['spec', 'containers', 0, 'image'], ref);
  writeFileSync(runtime, rt.toString());
  return { chart, runtime };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      image: { type: 'string' },
      digest: { type: 'string' },
      root: { type: 'string', default: path.resolve(import.meta.dirname, '../..') },
    },
  });
  if (!values.version || !values.image) {
    console.error('usage: release-version.ts --version X.Y.Z --image REPO [--digest sha256:…] [--root DIR]');
    process.exit(2);
  }
  const out = stampRelease(values.root!, {
    version: values.version.replace(/^v/, ''),
    image: values.image,
    digest: values.digest || undefined,
  });
  console.log(
    `stamped ${values.version}: ${path.relative(values.root!, out.chart)}, ${path.relative(values.root!, out.runtime)}`,
  );
}
