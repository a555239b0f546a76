// Builds Loupe's images, tags each <registry>/<name>:{version, short commit, latest} with the
// OCI labels, pushes them and writes the pushed digests to a manifest (plus an SBOM where
// `npm run sbom` exists). Any registry the engine can push to: docker login first if it asks.
//   npm run release -- --registry 127.0.0.1:5000 --version 1.2.0 [--base-image IMG] [--gpu]
// Run with --help for every flag. Bad input exits 2 with one line; a failed build or push, 1.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
// semver.org's own pattern (2.0.0), anchored; no leading "v".
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
// host[:port][/namespace...], as `docker tag` accepts it (lower-case path components).
const REGISTRY = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
// A base image reference: never an option (it reaches `docker pull` as an argument).
const IMAGE = /^[a-zA-Z0-9][\w.\-/:@]*$/;
const USAGE = `usage: npm run release -- --registry HOST[:PORT][/NAMESPACE] --version X.Y.Z [options]
  --base-image IMG          loupe's BASE_IMAGE (default: the Dockerfile's pinned node image; env LOUPE_BASE_IMAGE)
  --trainer-base-image IMG  loupe-trainer's BASE_IMAGE (default: its Dockerfile's; env LOUPE_TRAINER_BASE_IMAGE)
  --images LIST             comma-separated subset of loupe,loupe-trainer (default: both)
  --gpu                     also build loupe-gpu (Dockerfile.gpu); skipped, with the reason, where its base image cannot be had
  --gpu-base-image IMG      Dockerfile.gpu's CUDA_IMAGE (default: its pinned nvidia/cuda image)
  --source URL              org.opencontainers.image.source (default: package.json repository, else the Dockerfile's)
  --out DIR                 where manifest.json (and sbom.cdx.json) go (default: release/<version>)
  --allow-dirty             release from a work tree with uncommitted changes (revision gets "-dirty")`;

function fail(message: string, code = 2): never {
  console.error(`release: ${message}`);
  process.exit(code);
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: false,
      options: {
        registry: { type: 'string' },
        version: { type: 'string' },
        'base-image': { type: 'string', default: process.env.LOUPE_BASE_IMAGE ?? '' },
        'trainer-base-image': { type: 'string', default: process.env.LOUPE_TRAINER_BASE_IMAGE ?? '' },
        images: { type: 'string', default: 'loupe,loupe-trainer' },
        gpu: { type: 'boolean', default: false },
        'gpu-base-image': { type: 'string', default: '' },
        source: { type: 'string', default: '' },
        out: { type: 'string', default: '' },
        'allow-dirty': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message} (--help lists the flags)`);
  }
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** Runs docker, echoing its output prefixed; resolves with the output, rejects with its tail. */
function docker(args: string[], label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The caller's builder (DOCKER_BUILDKIT as set, else the CLI's default: BuildKit with buildx).
    const child = spawn('docker', args, { cwd: ROOT, env: process.env });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split('\n'))
        // Progress only (classic "Step n/m", BuildKit "#n [stage k/m]"); nothing is parsed from it.
        if (/^(Step \d|#\d+ \[|Successfully|\S+: digest:)/.test(line)) console.log(`  [${label}] ${line}`);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(`docker ${args[0]} ${label} failed (${code}): ${out.trim().split('\n').slice(-3).join(' | ')}`),
          ),
    );
  });
}

interface Target {
  name: string;
  context: string;
  dockerfile?: string;
  buildArgs: Record<string, string>;
  /** Why it cannot build here, checked before building; undefined when it can. */
  precheck?: () => Promise<string | undefined>;
}

async function main() {
  const o = parse();
  if (o.help) {
    console.log(USAGE);
    return;
  }
  if (!o.registry) fail('--registry HOST[:PORT] is required (e.g. --registry 127.0.0.1:5000)');
  if (!REGISTRY.test(o.registry)) fail(`--registry "${o.registry}" is not HOST[:PORT][/namespace]`);
  // Docker reads a first component without "." or ":" (other than localhost) as a Docker Hub
  // namespace: "--registry team" would push to docker.io/team, not to a host named team.
  const host = o.registry.split('/')[0]!;
  if (!/[.:]/.test(host) && host !== 'localhost')
    fail(
      `--registry "${o.registry}": "${host}" is not a host to docker (write ${host}.domain, HOST:PORT or docker.io/${host})`,
    );
  if (!o.version) fail('--version X.Y.Z is required (semantic versioning, no leading "v")');
  if (!SEMVER.test(o.version)) fail(`--version "${o.version}" is not a semantic version (X.Y.Z[-pre][+build])`);
  // A docker tag has no "+": build metadata is written with "_" there (as Helm does); the label keeps "+".
  const versionTag = o.version.replace('+', '_');
  if (versionTag.length > 128) fail(`--version "${o.version}" is longer than a docker tag may be (128)`);
  for (const flag of ['base-image', 'trainer-base-image', 'gpu-base-image'] as const)
    if (o[flag] && !IMAGE.test(o[flag])) fail(`--${flag} "${o[flag]}" is not an image reference`);
  const wanted = o.images
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((n) => n !== 'loupe' && n !== 'loupe-trainer');
  if (unknown.length || !wanted.length) fail(`--images takes loupe and/or loupe-trainer, not "${o.images}"`);

  let commit = '';
  let dirty = false;
  try {
    commit = git('rev-parse', 'HEAD');
    dirty = git('status', '--porcelain') !== '';
  } catch {
    fail('not a git work tree with a commit: the revision label and the commit tag need one');
  }
  if (dirty && !o['allow-dirty'])
    fail(
      'the work tree has uncommitted changes: commit them, or pass --allow-dirty (the revision is then marked "-dirty")',
    );
  if (dirty) console.warn('release: warning: releasing a dirty work tree; revision and commit tag carry "-dirty"');
  const short = `${commit.slice(0, 12)}${dirty ? '-dirty' : ''}`;
  const revision = `${commit}${dirty ? '-dirty' : ''}`;
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const repoUrl = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const labels: Record<string, string> = {
    'org.opencontainers.image.version': o.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.licenses': pkg.license ?? 'Apache-2.0',
    'org.opencontainers.image.source':
      o.source || repoUrl || /image\.source="([^"]+)"/.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))![1]!,
  };
  const versionArgs = { VERSION: o.version, REVISION: revision, CREATED: created };

  const targets: Target[] = [];
  if (wanted.includes('loupe'))
    targets.push({
      name: 'loupe',
      context: '.',
      buildArgs: { ...versionArgs, ...(o['base-image'] ? { BASE_IMAGE: o['base-image'] } : {}) },
    });
  if (wanted.includes('loupe-trainer'))
    targets.push({
      name: 'loupe-trainer',
      context: 'training',
      buildArgs: o['trainer-base-image'] ? { BASE_IMAGE: o['trainer-base-image'] } : {},
    });
  const skipped: Array<{ name: string; reason: string }> = [];
  if (o.gpu) {
    const cuda =
      o['gpu-base-image'] || /ARG CUDA_IMAGE=(\S+)/.exec(readFileSync(path.join(ROOT, 'Dockerfile.gpu'), 'utf8'))![1]!;
    targets.push({
      name: 'loupe-gpu',
      context: '.',
      dockerfile: 'Dockerfile.gpu',
      buildArgs: { ...versionArgs, CUDA_IMAGE: cuda, ...(o['base-image'] ? { NODE_IMAGE: o['base-image'] } : {}) },
      // Its base comes from a registry and its npm install from NuGet: where the base cannot
      // even be had, skip it rather than fail the whole release.
      precheck: async () => {
        const have = await docker(['image', 'inspect', cuda], 'loupe-gpu').then(
          () => true,
          () => false,
        );
        if (have) return undefined;
        return docker(['pull', cuda], 'loupe-gpu').then(
          () => undefined,
          (err: Error) => `its base image ${cuda} is not here and cannot be pulled (${err.message.slice(-200)})`,
        );
      },
    });
  } else
    skipped.push({ name: 'loupe-gpu', reason: 'not requested (--gpu); it needs the nvidia/cuda base image and NuGet' });

  // The SBOM first: it needs only package-lock.json, and a failure here stops the release
  // before anything is pushed.
  const out = path.resolve(ROOT, o.out || path.join('release', o.version));
  mkdirSync(out, { recursive: true });
  let sbom = '';
  if (pkg.scripts?.sbom) {
    const file = path.join(out, 'sbom.cdx.json');
    // The sbom script (CycloneDX) writes the SBOM of the npm dependencies shipped in the image.
    execFileSync('npm', ['run', '--silent', 'sbom', '--', '--output-file', file], { cwd: ROOT, stdio: 'inherit' });
    if (existsSync(file)) sbom = file;
  } else
    console.warn('release: no SBOM: package.json has no "sbom" script yet (its output would go next to the manifest)');

  // A pre-release never moves `latest`: whoever pulls latest gets the newest stable release.
  const prerelease = /^[^+]*-/.test(o.version);
  const tagNames = [versionTag, short, ...(prerelease ? [] : ['latest'])];
  // Every image is built before the first push: a build that fails leaves the registry as it was.
  const built: Array<{ name: string; repo: string; tags: string[] }> = [];
  for (const t of targets) {
    const why = await t.precheck?.();
    if (why) {
      console.warn(`release: skipping ${t.name}: ${why}`);
      skipped.push({ name: t.name, reason: why });
      continue;
    }
    const repo = `${o.registry}/${t.name}`;
    const tags = tagNames.map((tag) => `${repo}:${tag}`);
    console.log(`release: building ${tags.join(', ')}`);
    await docker(
      [
        'build',
        ...(t.dockerfile ? ['-f', t.dockerfile] : []),
        ...Object.entries(t.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        ...tags.flatMap((tag) => ['-t', tag]),
        t.context,
      ],
      t.name,
    );
    built.push({ name: t.name, repo, tags });
  }

  const pushed: Array<{
    name: string;
    repository: string;
    tags: string[];
    digest: string;
    reference: string;
    id: string;
  }> = [];
  try {
    for (const { name, repo, tags } of built) {
      const digests = new Set<string>();
      for (const tag of tags) {
        const log = await docker(['push', tag], name);
        const d = /digest: (sha256:[0-9a-f]{64})/.exec(log)?.[1];
        if (d) digests.add(d);
      }
      // The registry's digest for this repository, as the engine recorded it on push.
      const [image] = JSON.parse(await docker(['image', 'inspect', tags[0]!], name)) as Array<{
        Id: string;
        RepoDigests: string[] | null;
      }>;
      const recorded = (image!.RepoDigests ?? [])
        .filter((r) => r.startsWith(`${repo}@`))
        .map((r) => r.slice(repo.length + 1));
      if (digests.size > 1) throw new Error(`the tags of ${repo} were pushed with different digests: ${[...digests]}`);
      const digest = [...digests][0] ?? (recorded.length === 1 ? recorded[0] : undefined);
      if (!digest || (recorded.length && !recorded.includes(digest)))
        throw new Error(
          `no pushed digest of ${repo} (push said ${[...digests].join(',') || 'nothing'}, RepoDigests ${recorded})`,
        );
      pushed.push({ name, repository: repo, tags, digest, reference: `${repo}@${digest}`, id: image!.Id });
    }
  } catch (err) {
    const done = pushed.map((p) => p.reference).join(', ') || 'none';
    throw new Error(`${(err as Error).message}; images already pushed: ${done}; no manifest written`, { cause: err });
  }

  const manifest = {
    version: o.version,
    revision,
    commit_tag: short,
    created,
    registry: o.registry,
    labels,
    images: pushed,
    skipped,
    sbom,
  };
  writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const p of pushed)
    console.log(`pushed ${p.reference}  (${p.tags.map((t) => t.slice(p.repository.length + 1)).join(', ')})`);
  for (const s of skipped) console.log(`skipped ${s.name}: ${s.reason}`);
  console.log(`manifest: ${path.join(out, 'manifest.json')}`);
}

main().catch((err: Error) => fail(err.message, 1));
