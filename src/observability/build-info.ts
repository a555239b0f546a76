import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';

export interface BuildInfo {
  /** package.json's version. */
  readonly version: string;
  /** The commit the image was built from (LOUPE_REVISION, set by the image build); 'unknown' when none. */
  readonly revision: string;
}

/**
 * `loupe_build_info{version,revision,node,onnxruntime} 1`, the usual info metric: labels read
 * once at start (nothing at scrape time), so a dashboard can show what runs where and an alert
 * can spot a mixed rollout.
 */
export function registerBuildInfo(registry: Registry, build: BuildInfo): void {
  const info = new Gauge({
    name: 'loupe_build_info',
    help: 'Always 1; its labels say what this process runs: Loupe version and revision, Node.js, ONNX Runtime',
    labelNames: ['version', 'revision', 'node', 'onnxruntime'],
    registers: [registry],
  });
  info.set(
    {
      version: build.version,
      revision: build.revision || 'unknown',
      node: process.version,
      onnxruntime: onnxruntimeVersion(),
    },
    1,
  );
}

/**
 * The installed onnxruntime-node's version, from its package.json: importing the package would
 * load its native binding, which roles that run no model (gateway, worker) never need.
 */
function onnxruntimeVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
