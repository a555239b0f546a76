import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE } from './helm.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [k: string]: any;
};

/** kubernetes-types module for an apiVersion ("networking.k8s.io/v1" → "networking/v1"). */
function typesModule(apiVersion: string): string {
  if (!apiVersion.includes('/')) return `kubernetes-types/core/${apiVersion}`;
  const [group, version] = apiVersion.split('/') as [string, string];
  return `kubernetes-types/${group.replace(/\.k8s\.io$/, '')}/${version}`;
}

/**
 * Types and required fields: kubernetes-models' JSON schemas (ajv). Throws naming the object.
 * Objects of API groups the package does not know (CRDs) throw too: check them elsewhere.
 */
export async function validateWithModels(obj: K8sObject): Promise<void> {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion : `v1`;
  const mod = (await import(`kubernetes-models/${group}`)) as Record<string, new (o: object) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Unknown fields (typos, misplaced keys): every object becomes a typed object literal of
 * kubernetes-types, and tsc's excess-property check rejects any field the API does not have.
 * Returns tsc's diagnostics, empty when all objects are clean.
 */
export function unknownFieldErrors(objects: readonly K8sObject[], label: string): string {
  const dir = path.join(CACHE, 'tsc');
  mkdirSync(dir, { recursive: true });
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  objects.forEach((o, i) => {
    const mod = typesModule(o.apiVersion);
    if (!imports.has(mod)) imports.set(mod, new Set());
    imports.get(mod)!.add(o.kind);
    const alias = `${mod.replace(/[^A-Za-z0-9]/g, '_')}_${o.kind}`;
    lines.push(`// ${o.kind}/${o.metadata.name}\nexport const o${i}: ${alias} = ${JSON.stringify(o, null, 2)};`);
  });
  const head = [...imports].map(
    ([mod, kinds]) =>
      `import type { ${[...kinds].map((k) => `${k} as ${mod.replace(/[^A-Za-z0-9]/g, '_')}_${k}`).join(', ')} } from '${mod}';`,
  );
  const file = path.join(dir, `${label.replace(/[^A-Za-z0-9-]/g, '_')}.ts`);
  writeFileSync(file, [...head, ...lines].join('\n') + '\n');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--ignoreConfig',
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'esnext',
        '--moduleResolution',
        'bundler',
        '--target',
        'es2022',
        '--types',
        'node',
        file,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; status?: number };
    if (e.status === undefined) throw err;
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || `tsc exited ${e.status}`;
  }
}
