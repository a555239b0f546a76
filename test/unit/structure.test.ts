import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cruise, type IConfiguration, type IReporterOutput } from 'dependency-cruiser';
import { tempDir } from '../helpers/server.ts';

const CONFIG = path.resolve(import.meta.dirname, '../../.dependency-cruiser.mjs');
const rules = (await import(pathToFileURL(CONFIG).href)).default as IConfiguration;

// `npm run lint` checks src/ against .dependency-cruiser.mjs. These cases show each rule
// really fires, so a rule that silently stopped matching would fail here.

/** Runs the project's rules over a tiny src/ made of `files` (path → source). */
async function violations(files: Record<string, string>): Promise<string[]> {
  const root = tempDir('loupe-structure-');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const result = (await cruise(['src'], {
      validate: true,
      ruleSet: { forbidden: rules.forbidden ?? [] },
      doNotFollow: rules.options?.doNotFollow ?? {},
      tsPreCompilationDeps: true,
    })) as IReporterOutput;
    if (typeof result.output === 'string') throw new Error(result.output);
    return result.output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
  } finally {
    process.chdir(cwd);
  }
}

describe('the structure rules (.dependency-cruiser.mjs)', () => {
  it('pass a tree that keeps them', async () => {
    const found = await violations({
      'src/errors.ts': 'export const x = 1;\n',
      'src/config/index.ts': "import { x } from '../errors.ts';\nexport const c = x;\n",
      'src/config/shared/index.ts': "import { x } from '../../errors.ts';\nexport const shared = x;\n",
      'src/admission/index.ts': "import { shared } from '../config/shared/index.ts';\nexport const a = shared;\n",
      'src/http/index.ts': "import { a } from '../admission/index.ts';\nexport const h = a;\n",
      'src/grpc/index.ts': "import { a } from '../admission/index.ts';\nexport const g = a;\n",
      'src/roles/serve.ts':
        "import { h } from '../http/index.ts';\nimport { g } from '../grpc/index.ts';\nimport { c } from '../config/index.ts';\nexport const s = [h, g, c];\n",
    });
    assert.deepEqual(found, []);
  });

  it('refuse a deep import, a transport importing the other, an upward import and a cycle', async () => {
    const found = await violations({
      'src/config/index.ts': "import { a } from '../admission/index.ts';\nexport const c = a;\n",
      'src/admission/index.ts': 'export const a = 1;\n',
      'src/admission/budget.ts': 'export const b = 1;\n',
      'src/http/index.ts': "import { b } from '../admission/budget.ts';\nexport const h = b;\n",
      'src/grpc/index.ts': "import { h } from '../http/index.ts';\nexport const g = h;\n",
      'src/jobs/one.ts': "import { two } from './two.ts';\nexport const one = () => two;\n",
      'src/jobs/two.ts': "import { one } from './one.ts';\nexport const two = () => one;\n",
    });
    const rulesHit = new Set(found.map((v) => v.split(':')[0]));
    for (const rule of ['through-index', 'transports-apart', 'floor-config', 'no-circular'])
      assert.ok(rulesHit.has(rule), `${rule} not reported: ${found.join('; ')}`);
    assert.ok(found.includes('through-index: src/http/index.ts -> src/admission/budget.ts'), found.join('; '));
    assert.ok(found.includes('floor-config: src/config/index.ts -> src/admission/index.ts'), found.join('; '));
  });

  it('refuse the env-named Config below the roles, even as a type; config/shared is open to every floor', async () => {
    const found = await violations({
      'src/errors.ts': 'export class ConfigError extends Error {}\n',
      'src/config/index.ts':
        'export interface Config { readonly PORT: number }\nexport const loadConfig = () => ({ PORT: 0 });\n',
      'src/config/shared/index.ts': 'export const readSecret = (file: string) => file;\n',
      'src/http/index.ts':
        "import type { Config } from '../config/index.ts';\nexport const port = (c: Config) => c.PORT;\n",
      'src/storage/index.ts': "import { loadConfig } from '../config/index.ts';\nexport const s = loadConfig;\n",
      'src/auth/index.ts':
        "import { readSecret } from '../config/shared/index.ts';\nimport { ConfigError } from '../errors.ts';\nexport const a = [readSecret, ConfigError];\n",
      'src/roles/serve.ts':
        "import { loadConfig, type Config } from '../config/index.ts';\nexport const r = (c: Config) => [c, loadConfig];\n",
    });
    assert.deepEqual(found, [
      'config-stays-with-the-roles: src/http/index.ts -> src/config/index.ts',
      'config-stays-with-the-roles: src/storage/index.ts -> src/config/index.ts',
    ]);
  });
});
