import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const SCRIPT = path.resolve(import.meta.dirname, '../../../scripts/release.ts');
// PATH without docker: a refusal must come before any build is attempted.
const release = (...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });

describe('npm run release refuses bad input with one line', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^release: --registry HOST\[:PORT\] is required/],
    [['--registry', '127.0.0.1:5000'], /^release: --version X\.Y\.Z is required/],
    [['--registry', '127.0.0.1:5000', '--version', 'v1.2.3'], /is not a semantic version/],
    [['--registry', '127.0.0.1:5000', '--version', '1.2'], /is not a semantic version/],
    [['--registry', '127.0.0.1:5000', '--version', '01.2.3'], /is not a semantic version/],
    [['--registry', 'http://127.0.0.1:5000', '--version', '1.2.3'], /is not HOST\[:PORT\]\[\/namespace\]/],
    [['--registry', '127.0.0.1:5000', '--version', '1.2.3', '--images', 'loupe,nginx'], /--images takes loupe/],
    [['--registry', '127.0.0.1:5000', '--version', '1.2.3', '--bogus'], /Unknown option '--bogus'/],
    // Docker would read it as a Docker Hub namespace and push to docker.io/team.
    [
      ['--registry', 'team', '--version', '1.2.3'],
      /"team" is not a host to docker \(write team\.domain, HOST:PORT or docker\.io\/team\)/,
    ],
    // Never an option smuggled into `docker pull`.
    [
      ['--registry', '127.0.0.1:5000', '--version', '1.2.3', '--gpu-base-image=--help'],
      /--gpu-base-image "--help" is not an image reference/,
    ],
  ];
  for (const [args, message] of cases) {
    it(args.join(' ') || '(no arguments)', () => {
      const r = release(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    });
  }

  it('accepts full semantic versions and registries with a namespace (--help exits 0)', () => {
    assert.equal(release('--help').status, 0);
    // Valid input gets past validation: it then needs git and docker, which this PATH lacks.
    const r = release(
      '--registry',
      'registry.example.com:443/team',
      '--version',
      '1.2.3-rc.1+build.5',
      '--allow-dirty',
    );
    assert.doesNotMatch(r.stderr, /semantic version|HOST\[:PORT\]/);
  });
});

// A docker (and npm) stand-in on PATH: what the script runs, in which order, and what it does
// with a failure, without building anything.
describe('npm run release against a stand-in docker', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-release-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'docker.log');
  writeFileSync(
    path.join(dir, 'docker'),
    `#!/bin/bash
echo "$*" >> "${log}"
case "$1" in
  build) [[ -n "$FAIL_BUILD" && "$*" == *"$FAIL_BUILD"* ]] && { echo "Step 3/9 boom" >&2; exit 1; }; echo "Successfully built 1234";;
  push) [[ -n "$FAIL_PUSH" && "$2" == *"$FAIL_PUSH"* ]] && { echo "denied: requested access is refused" >&2; exit 1; }
        echo "\${2##*:}: digest: sha256:${'d'.repeat(64)} size: 1234";;
  image) echo '[{"Id":"sha256:${'1'.repeat(64)}","RepoDigests":["'"\${3%:*}"'@sha256:${'d'.repeat(64)}"]}]';;
  *) exit 1;;
esac
`,
  );
  // `npm run sbom -- --output-file FILE`: writes FILE.
  writeFileSync(
    path.join(dir, 'npm'),
    '#!/bin/bash\nfor a; do [[ $prev == --output-file ]] && echo "{}" > "$a"; prev=$a; done\n',
  );
  for (const f of ['docker', 'npm']) chmodSync(path.join(dir, f), 0o755);
  const run = (version: string, env: Record<string, string> = {}) => {
    rmSync(log, { force: true });
    const out = path.join(dir, 'out', version);
    const r = spawnSync(
      process.execPath,
      [SCRIPT, '--registry', '127.0.0.1:5000/team', '--version', version, '--allow-dirty', '--out', out],
      { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:/usr/bin:/bin`, ...env } },
    );
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    const manifest = path.join(out, 'manifest.json');
    return {
      ...r,
      calls,
      out,
      manifest: existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : undefined,
    };
  };

  it('builds every image before the first push, pushes version, commit and latest, writes the digests', () => {
    const r = run('1.2.0');
    assert.equal(r.status, 0, r.stderr);
    const verbs = r.calls.map((c) => c.split(' ')[0]);
    assert.deepEqual(verbs.slice(0, 2), ['build', 'build']);
    assert.equal(verbs.filter((v) => v === 'push').length, 6);
    const build = r.calls[0]!;
    assert.match(build, /--label org\.opencontainers\.image\.version=1\.2\.0 /);
    assert.match(
      build,
      /-t 127\.0\.0\.1:5000\/team\/loupe:1\.2\.0 -t 127\.0\.0\.1:5000\/team\/loupe:[0-9a-f]{12}(-dirty)? -t 127\.0\.0\.1:5000\/team\/loupe:latest /,
    );
    const loupe = r.manifest.images.find((i: { name: string }) => i.name === 'loupe');
    assert.equal(loupe.reference, `127.0.0.1:5000/team/loupe@sha256:${'d'.repeat(64)}`);
    assert.equal(r.manifest.sbom, path.join(r.out, 'sbom.cdx.json'));
    assert.match(
      r.stdout,
      /pushed 127\.0\.0\.1:5000\/team\/loupe-trainer@sha256:d{64} {2}\(1\.2\.0, [0-9a-f]{12}(-dirty)?, latest\)/,
    );
  });

  it('a pre-release does not move latest; build metadata is written with "_" in the tag', () => {
    const r = run('1.3.0-rc.1+b.7');
    assert.equal(r.status, 0, r.stderr);
    const tags = r.manifest.images[0].tags.map((t: string) => t.split(':').at(-1));
    assert.equal(tags[0], '1.3.0-rc.1_b.7');
    assert.ok(!tags.includes('latest'), tags.join(','));
    assert.equal(r.manifest.labels['org.opencontainers.image.version'], '1.3.0-rc.1+b.7');
  });

  it('a failed build pushes nothing; a failed push names what was already pushed', () => {
    const b = run('1.4.0', { FAIL_BUILD: 'training' });
    assert.equal(b.status, 1);
    assert.match(b.stderr, /^release: docker build loupe-trainer failed \(1\): Step 3\/9 boom/m);
    assert.deepEqual(
      b.calls.filter((c) => c.startsWith('push')),
      [],
    );
    assert.equal(b.manifest, undefined);
    const p = run('1.4.1', { FAIL_PUSH: 'loupe-trainer:1.4.1' });
    assert.equal(p.status, 1);
    assert.match(
      p.stderr,
      /docker push loupe-trainer failed \(1\): denied: .*; images already pushed: 127\.0\.0\.1:5000\/team\/loupe@sha256:d{64}; no manifest written/,
    );
    assert.equal(p.manifest, undefined);
  });
});
