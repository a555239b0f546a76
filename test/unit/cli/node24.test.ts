import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error: plain JavaScript (it must run on old Node), without type declarations
import { purposeOf } from '../../../scripts/node24.mjs';

const SCRIPT = path.resolve(import.meta.dirname, '../../../scripts/node24.mjs');
const purpose = purposeOf as (argv: string[]) => string;

describe('scripts/node24.mjs on an old Node: a message that fits the command', () => {
  it('names what the command does: the tests, loupe, a script', () => {
    assert.equal(purpose(['node', '--test', '--test-concurrency=1', 'test/unit/**/*.test.ts']), 'run the tests');
    assert.equal(purpose(['npm', 'run', 'check']), 'run the tests');
    assert.equal(purpose(['node', 'src/cli/main.ts', 'predict', 'a.png']), 'run loupe from its TypeScript sources');
    assert.equal(purpose(['node', '--watch', 'src/cli/main.ts', 'serve']), 'run loupe from its TypeScript sources');
    assert.equal(purpose(['node', 'scripts/config-docs.ts']), 'run scripts/config-docs.ts');
  });

  // The machine's own Node, where it is an old one (Debian 12's /usr/bin/node is 20).
  const old = ['/usr/bin/node', '/bin/node'].find((p) => existsSync(p));
  const version = old ? spawnSync(old, ['-v'], { encoding: 'utf8' }).stdout.trim() : '';
  const isOld = /^v(1\d|20|21|22\.(\d|1[0-7]))\./.test(version);
  it(
    `\`npm run loupe -- …\` on ${version || 'an old Node'} says it is running loupe, not the tests`,
    { skip: !isOld },
    () => {
      const main = path.resolve(import.meta.dirname, '../../../src/cli/main.ts');
      const r = spawnSync(old!, [SCRIPT, 'node', main, '--version'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stderr,
        /^loupe: Node 2?\d\.[\d.]+ cannot run loupe from its TypeScript sources \(Loupe's TypeScript needs Node >= 22\.18\); using Node 24/,
      );
      assert.doesNotMatch(r.stderr, /tests/);
      assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    },
  );
});
