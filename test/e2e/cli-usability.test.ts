import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loupe } from '../helpers/cli-client.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { tempDir } from '../helpers/server.ts';

const ANKLE_BOOT = path.resolve(import.meta.dirname, '../../docs/ankle-boot.png');

/** A loopback port nothing listens on: taken, then let go. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('a CLI that respects the user’s time', () => {
  it('no server there: fails within 2 s, once, with a hint (predict, jobs submit, models list --url)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [
      ['predict', ANKLE_BOOT, path.dirname(ANKLE_BOOT), '--url', url],
      ['jobs', 'submit', ANKLE_BOOT, '--url', url],
      ['models', 'list', '--url', url],
    ]) {
      const r = await loupe(args);
      assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
      assert.ok(r.ms < 2000, `${args.join(' ')} took ${Math.round(r.ms)} ms`);
      assert.match(r.stderr, /ECONNREFUSED: is `loupe serve` running there\? Set --url or LOUPE_URL/, r.stderr);
      assert.doesNotMatch(r.stderr, /retry/);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line, not one per file: ${r.stderr}`);
    }
  });

  it('every command and subcommand answers --help with its usage and exit 0', async () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['models', '--help'],
      ['models', 'list', '--help'],
      ['models', 'pull', '--help'],
      ['models', 'pull-all', '-h'],
      ['models', 'validate', '--help'],
      ['keys', '--help'],
      ['keys', 'create', '--help'],
      ['predict', '--help'],
      ['jobs', '--help'],
      ['jobs', 'submit', '--help'],
      ['jobs', 'watch', '-h'],
    ]) {
      const r = await loupe(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /Usage:|loupe — /, args.join(' '));
    }
  });

  it('a mistyped flag gets "did you mean", exit 2; roles that take no flags say so', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--hlep'], /^loupe: unknown flag --hlep; did you mean --help\?/],
      [['predcit', ANKLE_BOOT], /^unknown command "predcit"; did you mean "predict"\?/],
      [['predict', ANKLE_BOOT, '--topk', '3'], /^loupe predict: unknown flag --topk; did you mean --top-k\?/],
      [['jobs', 'submit', ANKLE_BOOT, '--wach'], /unknown flag --wach; did you mean --watch\?/],
      [['models', 'list', '--stroe', 'x'], /^loupe models list: unknown flag --stroe; did you mean --store\?/],
      [['models', 'pull', 'x.onnx', '--nmae', 'y'], /unknown flag --nmae; did you mean --name\?/],
      [['keys', 'list', '--jsno'], /unknown flag --jsno; did you mean --json\?/],
      [['model-server', '--prot', '80'], /unknown flag --prot; did you mean --port\?/],
      [
        ['serve', '--port', '80'],
        /loupe serve takes no flags or arguments \(got --port\): its settings are environment variables/,
      ],
    ];
    for (const [args, expected] of cases) {
      const r = await loupe(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /To specify a positional argument/);
    }
  });

  it('models list: name, versions, ready, input and labels of the store; a broken model is "no", exit 1', async () => {
    const bundled = await loupe(['models', 'list']);
    assert.equal(bundled.status, 0, bundled.stderr);
    assert.match(bundled.stdout, /^NAME\s+VERSIONS\s+READY\s+INPUT\s+LABELS\n/);
    assert.match(
      bundled.stdout,
      /\nfashion-mnist\s+1\s+yes\s+28x28 grayscale\s+10: T-shirt\/top, Trouser, Pullover, Dress, …\n/,
    );

    const store = tempDir('loupe-models-list-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4, version: '2' });
    mkdirSync(path.join(store, 'empty'));
    writeFileSync(path.join(store, 'empty', 'model.json'), '{}');
    const r = await loupe(['models', 'list', '--store', store, '--json']);
    assert.equal(r.status, 1, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{ name: string; versions: string[]; ready: boolean; input: string }>;
    assert.deepEqual(
      rows.map((x) => [x.name, x.versions, x.ready, x.input]),
      [
        ['colors', ['1', '2'], true, '16x16 rgb'],
        ['empty', [], false, '-'],
      ],
    );
  });
});
