import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('npm run sbom', () => {
  it('writes a CycloneDX SBOM of the runtime dependencies, with versions and licences', () => {
    const out = path.join(tempDir('loupe-sbom-'), 'sbom.cdx.json');
    // The script's own --output-file is overridden by the last one given.
    execFileSync('npm', ['run', '--silent', 'sbom', '--', '--output-file', out], { cwd: ROOT, stdio: 'pipe' });
    const bom = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const byName = new Map<string, { version: string; licenses?: { license: { id?: string; name?: string } }[] }>(
      bom.components.map((c: { name: string; group?: string }) => [c.group ? `${c.group}/${c.name}` : c.name, c]),
    );
    for (const name of ['onnxruntime-node', 'sharp', 'fastify']) {
      const c = byName.get(name);
      assert.ok(c, `${name} is listed`);
      assert.match(c.version, /^\d+\.\d+\.\d+/, name);
      const ids = (c.licenses ?? []).map((l) => l.license.id ?? l.license.name);
      assert.ok(ids.length > 0 && ids.every(Boolean), `${name} has a licence`);
    }
    assert.equal(byName.get('sharp')!.licenses![0]!.license.id, 'Apache-2.0');
    // Tools only the build and tests use (some @types are dependencies of runtime packages too).
    for (const dev of ['eslint', 'prettier', 'typescript', 'vega', 'autocannon', 'kubernetes-models'])
      assert.ok(pkg.devDependencies[dev] && !byName.has(dev), `dev dependency ${dev} is left out`);
  });
});
