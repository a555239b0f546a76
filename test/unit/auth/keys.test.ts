import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accessFor,
  allows,
  generateKey,
  hashKey,
  keyIdOf,
  keyMatches,
  parseKeysFile,
  parseScopes,
} from '../../../src/auth/index.ts';

describe('API key format', () => {
  it('is lp_<8 hex id>_<43 base64url characters of 32 random bytes>, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateKey();
      assert.match(k.key, /^lp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(k.key.slice(12), 'base64url').length, 32);
      assert.equal(keyIdOf(k.key), k.id);
      assert.ok(k.key.startsWith(`lp_${k.id}_`));
      assert.ok(!seen.has(k.key));
      seen.add(k.key);
    }
  });

  it('is stored as the SHA-256 of the whole key, which verifies only that key', () => {
    const k = generateKey();
    assert.equal(k.sha256, hashKey(k.key));
    assert.match(k.sha256, /^[0-9a-f]{64}$/);
    assert.ok(!k.sha256.includes(k.key.slice(12)));
    assert.ok(keyMatches(k.key, k.sha256));
    const other = generateKey();
    assert.ok(!keyMatches(other.key, k.sha256));
    // one character changed in the secret, same id
    const last = k.key.at(-1) === 'A' ? 'B' : 'A';
    assert.ok(!keyMatches(k.key.slice(0, -1) + last, k.sha256));
    assert.ok(!keyMatches(k.key, 'not hex'));
  });

  it('tells keys from things that are not keys', () => {
    for (const bad of [
      '',
      'lp_',
      'lp_1234567_' + 'a'.repeat(43),
      'lp_ABCDEF12_' + 'a'.repeat(43),
      'lp_12345678_short',
      `xx_12345678_${'a'.repeat(43)}`,
      `lp_12345678_${'a'.repeat(42)}`,
      `lp_12345678_${'a'.repeat(43)} `,
    ])
      assert.equal(keyIdOf(bad), undefined, bad);
    assert.equal(keyIdOf(`lp_0a1b2c3d_${'a_-'.repeat(15)}`), '0a1b2c3d');
  });
});

describe('the keys file', () => {
  const a = generateKey();
  const b = generateKey();

  it('reads "<name> <scopes> <key>" lines, skipping blanks and comments, keeping only hashes', () => {
    const keys = parseKeysFile(`# clients\n\nfrontend predict,read ${a.key}\r\n  ops\tadmin   ${b.key}  \n`);
    assert.deepEqual(keys, [
      { id: a.id, name: 'frontend', scopes: ['predict', 'read'], sha256: a.sha256 },
      { id: b.id, name: 'ops', scopes: ['admin'], sha256: b.sha256 },
    ]);
    assert.ok(!JSON.stringify(keys).includes(a.key));
    assert.deepEqual(parseKeysFile(''), []);
  });

  it('names the bad line and never quotes it', () => {
    const cases: Array<[string, RegExp]> = [
      [`only-two ${a.key}`, /^line 1: expected "<name> <scope,scope> <key>"$/],
      [`\nname predict ${a.key} extra`, /^line 2: expected/],
      [`bad/name predict ${a.key}`, /^line 1: the name must be/],
      [`name ${a.key} predict`, /^line 1: unknown scope/],
      [`name predict,root ${a.key}`, /^line 1: unknown scope/],
      [`name predict lp_nothex_${'x'.repeat(43)}`, /^line 1: the key is not a Loupe API key/],
      [`one predict ${a.key}\ntwo read ${a.key}`, new RegExp(`^line 2: key id ${a.id} appears twice$`)],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseKeysFile(text),
        (err: Error) => {
          assert.match(err.message, re);
          assert.ok(!err.message.includes(a.key.slice(12)), err.message);
          return true;
        },
      );
    }
  });

  it('parses scope lists without repeats', () => {
    assert.deepEqual(parseScopes(['read', 'predict', 'read']), ['read', 'predict']);
    assert.match(parseScopes([]) as string, /at least one scope/);
    assert.match(parseScopes(['superuser']) as string, /unknown scope/);
  });
});

describe('the access policy', () => {
  it('leaves probes, metrics and docs open and needs a key for the rest', () => {
    for (const [m, r] of [
      ['GET', '/livez'],
      ['GET', '/readyz'],
      ['HEAD', '/readyz'],
      ['GET', '/metrics'],
      ['GET', '/v2/health/ready'],
      ['GET', '/openapi.json'],
      ['GET', '/docs'],
      ['GET', '/docs/static/*'],
      ['GET', undefined],
    ] as const)
      assert.equal(accessFor(m, r), 'open', `${m} ${r}`);
    assert.equal(accessFor('GET', '/models'), 'key');
    assert.equal(accessFor('GET', '/v2/models/:model'), 'key');
    for (const r of ['/v2/models/:model/config', '/v2/models/stats', '/v2/models/:model/versions/:version/stats'])
      assert.equal(accessFor('GET', r), 'key', r);
    assert.equal(accessFor('POST', '/v2/repository/index'), 'key');
    assert.deepEqual(accessFor('POST', '/predict'), ['predict']);
    assert.deepEqual(accessFor('POST', '/v2/models/:model/versions/:version/infer'), ['predict']);
    assert.deepEqual(accessFor('GET', '/jobs/:id'), ['predict', 'read']);
    assert.deepEqual(accessFor('GET', '/predictions'), ['read']);
    // fail closed: a route the table does not know needs admin
    assert.deepEqual(accessFor('DELETE', '/predictions/:id'), ['admin']);
    assert.deepEqual(accessFor('GET', '/some/new/route'), ['admin']);
  });

  it('lets admin do everything, and the others what their scopes name', () => {
    assert.ok(allows(['admin'], ['predict']));
    assert.ok(allows(['admin'], ['admin']));
    assert.ok(allows(['read'], 'key'));
    assert.ok(allows(['predict'], ['predict', 'read']));
    assert.ok(!allows(['predict'], ['read']));
    assert.ok(!allows(['read'], ['predict']));
    assert.ok(!allows(['predict', 'read'], ['admin']));
  });
});
