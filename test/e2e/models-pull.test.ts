import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { tinyModel, writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir } from '../helpers/server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The CLI in a child process (asynchronously: the loopback servers live in this one). */
function loupe(args: string[], env: Record<string, string> = {}, onSpawn?: (pid: number) => void) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, LOUPE_LOG_LEVEL: 'silent', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('spawn', () => onSpawn?.(child.pid!));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;
async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => handler(req, res, url));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server };
}

/** Nothing the pull staged or published: no `.pull-*` directory, no entry for the model. */
function assertNothingLeft(store: string, name: string) {
  const left = existsSync(store) ? readdirSync(store) : [];
  assert.deepEqual(
    left.filter((f) => f.startsWith('.pull-') || f === name),
    [],
    `left behind: ${left.join(', ')}`,
  );
}

// A real 3-class model for 8×8 RGB images, and a 1000-class one at ImageNet's 224×224.
const tiny = tinyModel({ channels: 3, height: 8, width: 8, classes: 3, seed: 7 }).bytes;
const imagenetSized = tinyModel({ channels: 3, height: 224, width: 224, classes: 1000 }).bytes;
const TINY_FLAGS = ['--size', '8', '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25'];

describe('loupe models pull (loopback sources)', () => {
  let files: { url: string; server: Server };
  let labelsFile = '';

  before(async () => {
    labelsFile = path.join(tempDir(), 'labels.txt');
    writeFileSync(labelsFile, 'red\ngreen\nblue\n');
    files = await serve((req, res) => {
      const u = req.url ?? '';
      if (u === '/tiny.onnx') return res.writeHead(200, { 'content-length': tiny.length }).end(tiny);
      if (u === '/imagenet.onnx') return res.writeHead(200).end(imagenetSized);
      if (u === '/moved.onnx') return res.writeHead(302, { location: '/tiny.onnx' }).end();
      if (u === '/to-file') return res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (u === '/page.onnx') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>hi');
      if (u === '/half.onnx') {
        // Announces the whole file, sends half, then drops the connection.
        res.writeHead(200, { 'content-length': imagenetSized.length });
        res.write(imagenetSized.subarray(0, imagenetSized.length >> 1));
        return setTimeout(() => res.socket?.destroy(), 50);
      }
      if (u === '/slow.onnx') {
        res.writeHead(200, { 'content-length': imagenetSized.length });
        res.write(imagenetSized.subarray(0, 100)); // then nothing: a stalled download
        return;
      }
      res.writeHead(404).end();
    });
  });
  after(() => {
    files.server.closeAllConnections();
    files.server.close();
  });

  it('https-style URL + checksum: a complete, valid entry, published whole', async () => {
    const store = tempDir();
    const r = await loupe([
      'models',
      'pull',
      `${files.url}/moved.onnx`,
      '--name',
      'tiny',
      '--store',
      store,
      '--sha256',
      sha(tiny),
      '--labels',
      labelsFile,
      ...TINY_FLAGS,
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /✓ tiny\/1: input input \[batch, 3, 8, 8\] rgb, output logits \[batch, 3\] logits, 3 labels/,
    );
    assert.match(r.stderr, /tiny\.onnx {2}274 B \/ 274 B {2}done in/); // not a TTY: plain progress lines
    const dir = path.join(store, 'tiny', '1');
    assert.deepEqual(readdirSync(dir).sort(), ['labels.txt', 'model.json', 'model.onnx', 'source.json']);
    assert.deepEqual(readFileSync(path.join(dir, 'model.onnx')), Buffer.from(tiny));
    assert.equal(readFileSync(path.join(dir, 'labels.txt'), 'utf8'), 'red\ngreen\nblue\n');
    const src = JSON.parse(readFileSync(path.join(dir, 'source.json'), 'utf8'));
    assert.equal(src.resolved, `${files.url}/tiny.onnx`);
    assert.equal(src.sha256, sha(tiny));
    assert.deepEqual(readdirSync(store), ['tiny']);
    // The next pull of the same model is the next version; an explicit, taken version is refused.
    const again = await loupe([
      'models',
      'pull',
      `${files.url}/tiny.onnx`,
      '--store',
      store,
      '--labels',
      labelsFile,
      ...TINY_FLAGS,
    ]);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(readdirSync(path.join(store, 'tiny')).sort(), ['1', '2']);
    const taken = await loupe(['models', 'pull', `${files.url}/tiny.onnx`, '--store', store, '--version', '1']);
    assert.equal(taken.status, 1);
    assert.match(taken.stderr, /^loupe models: tiny\/1 already exists in the store/);
  });

  it('a version past 2^53-1 is refused with one usage line; nothing is fetched or published', async () => {
    const store = tempDir();
    // 99999999999999999999 would round to 100000000000000000000, become "latest" and leave no next number.
    const r = await loupe([
      'models',
      'pull',
      `${files.url}/tiny.onnx`,
      '--store',
      store,
      '--version',
      '99999999999999999999',
    ]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--version must be a whole number from 1 to 9007199254740991/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assertNothingLeft(store, 'tiny');
  });

  it('failures are one line and leave nothing behind', async () => {
    const store = tempDir();
    const cases: Array<[string[], RegExp]> = [
      [[`${files.url}/half.onnx`, '--preset', 'imagenet'], /transfer broke off after .* of 15\.9 KiB/],
      [
        [`${files.url}/tiny.onnx`, '--sha256', 'f'.repeat(64), ...TINY_FLAGS],
        /checksum mismatch: expected sha256 f{64}, got /,
      ],
      [[`${files.url}/tiny.onnx#sha256=${'0'.repeat(64)}`, ...TINY_FLAGS], /checksum mismatch/],
      [[`${files.url}/page.onnx`, '--preset', 'imagenet'], /is not an ONNX model \(it is an HTML\/XML page\)/],
      [[`${files.url}/missing.onnx`], /the server answered 404/],
      [[`${files.url}/to-file`], /refused a redirect to file:\/\//],
      [[`http://127.0.0.1:9/m.onnx`], /cannot reach http:\/\/127\.0\.0\.1:9: connect ECONNREFUSED/],
      [[`${files.url}/tiny.onnx`, '--max-bytes', '100'], /is 274 B, over the 100 B limit/],
      [[`${files.url}/imagenet.onnx`, '--max-bytes', '1000', '--preset', 'imagenet'], /over the 1000 B limit/],
      // An 8×8 model under the 224×224 ImageNet preprocessing: refused by the validate checks.
      [[`${files.url}/tiny.onnx`, '--preset', 'imagenet'], /does not match .*dim 2 is 8; model\.json says 224/],
      [[`${files.url}/tiny.onnx`, ...TINY_FLAGS], /no labels: pass --labels FILE/],
    ];
    for (const [args, message] of cases) {
      const r = await loupe(
        ['models', 'pull', ...args, '--name', 'm', '--store', store, '--labels', labelsFile].filter(
          (a, i, all) => !(message.source.startsWith('no labels') && (a === '--labels' || all[i - 1] === '--labels')),
        ),
      );
      assert.equal(r.status, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
      const last = r.stderr.trim().split('\n').at(-1)!;
      assert.match(last, new RegExp(`^loupe models: .*${message.source}`), args[0]);
      assertNothingLeft(store, 'm');
    }
  });

  it('Ctrl-C mid-download: exit 130, the staging directory is gone', async () => {
    const store = tempDir();
    let pid = 0;
    const run = loupe(
      ['models', 'pull', `${files.url}/slow.onnx`, '--store', store, '--preset', 'imagenet'],
      {},
      (p) => (pid = p),
    );
    const deadline = Date.now() + 20_000;
    while (!(existsSync(store) && readdirSync(store).some((f) => f.startsWith('.pull-')))) {
      assert.ok(Date.now() < deadline, 'the pull never started staging');
      await sleep(20);
    }
    await sleep(200);
    process.kill(pid, 'SIGINT');
    const r = await run;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /interrupted; nothing was written to the store/);
    assertNothingLeft(store, 'slow');
  });
});

const COMMIT = '4f1c9a7e2b6d0c3a8e5f7b9d1c2a4e6f8b0d2c4a';
const model = tinyModel({ channels: 3, height: 8, width: 8, classes: 3, seed: 11 });
const HF_FILES: Record<string, { body: Uint8Array; lfs?: boolean }> = {
  'onnx/model.onnx': { body: model.bytes, lfs: true },
  // transformers' ViT-style processor: a stretch to 8×8, then (x − 0.5) / 0.25
  'preprocessor_config.json': {
    body: Buffer.from(
      JSON.stringify({
        do_resize: true,
        size: { height: 8, width: 8 },
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.25, 0.25, 0.25],
      }),
    ),
  },
  'config.json': { body: Buffer.from(JSON.stringify({ id2label: { 0: 'red', 1: 'green', 2: 'blue' } })) },
};

/**
 * A loopback stand-in for the Hugging Face Hub's file URLs, answering as the Hub does
 * (huggingface_hub's get_hf_file_metadata reads the same): `/<repo>/resolve/<rev>/<path>`
 * with X-Repo-Commit; LFS files as a 302 to a CDN on another origin with X-Linked-Etag (the
 * file's SHA-256) and X-Linked-Size; X-Error-Code on 404s; a renamed repo as a relative 307.
 */
async function fakeHub() {
  const seen: Array<{ where: 'hub' | 'cdn'; method: string; url: string; auth: string | undefined }> = [];
  const cdn = await serve((req, res) => {
    seen.push({ where: 'cdn', method: req.method!, url: req.url!, auth: req.headers.authorization });
    const m = /^\/blobs\/([0-9a-f]{64})(\?.*)?$/.exec(req.url ?? '');
    const file = Object.values(HF_FILES).find((f) => m && sha(f.body) === m[1]);
    if (m?.[1] === 'e'.repeat(64)) return res.writeHead(200).end(tiny); // a corrupt blob
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': file.body.length }).end(req.method === 'HEAD' ? undefined : file.body);
  });
  const hub = await serve((req, res) => {
    seen.push({ where: 'hub', method: req.method!, url: req.url!, auth: req.headers.authorization });
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    if (!m) return res.writeHead(404).end();
    const [, org, repo, rev, p] = m as unknown as [string, string, string, string, string];
    if (org === 'old-org') return res.writeHead(307, { location: `/acme/${repo}/resolve/${rev}/${p}` }).end();
    if (org !== 'acme' || !['tiny', 'corrupt'].includes(repo))
      return res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
    if (![COMMIT, 'main'].includes(decodeURIComponent(rev)))
      return res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const file = HF_FILES[decodeURIComponent(p)];
    if (!file) return res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': COMMIT }).end();
    const digest = repo === 'corrupt' && file.lfs ? 'e'.repeat(64) : sha(file.body);
    if (file.lfs)
      return res
        .writeHead(302, {
          location: `${cdn.url}/blobs/${digest}?X-Amz-Signature=abc`,
          'x-repo-commit': COMMIT,
          'x-linked-etag': `"${repo === 'corrupt' ? sha(file.body) : digest}"`,
          'x-linked-size': file.body.length,
          etag: 'W/"1a2b3c"',
        })
        .end();
    res
      .writeHead(200, { 'x-repo-commit': COMMIT, etag: '"9f8e7d"', 'content-length': file.body.length })
      .end(req.method === 'HEAD' ? undefined : file.body);
  });
  return {
    url: hub.url,
    seen,
    close: () => {
      for (const s of [hub.server, cdn.server]) {
        s.closeAllConnections();
        s.close();
      }
    },
  };
}

describe('hf:// sources against a loopback Hub, and serve answering with the pulled model', () => {
  let hub: Awaited<ReturnType<typeof fakeHub>>;
  let env: Record<string, string>;
  before(async () => {
    hub = await fakeHub();
    env = { HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_test_token' };
  });
  after(() => hub.close());

  it('resolves like huggingface_hub: commit-pinned, ETag-checked, token kept from the CDN', async () => {
    const store = tempDir();
    hub.seen.length = 0;
    const r = await loupe(['models', 'pull', 'hf://old-org/tiny@main/onnx/model.onnx', '--store', store], env);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /preprocessing from the source's preprocessor_config\.json, labels from the source's config\.json/,
    );
    const dir = path.join(store, 'tiny', '1');
    const config = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.deepEqual(config.input, {
      name: 'input',
      color: 'rgb',
      width: 8,
      height: 8,
      resize: 'stretch',
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    });
    assert.equal(readFileSync(path.join(dir, 'labels.txt'), 'utf8'), 'red\ngreen\nblue\n');
    const src = JSON.parse(readFileSync(path.join(dir, 'source.json'), 'utf8'));
    assert.equal(src.revision, COMMIT);
    assert.equal(src.resolved, `${hub.url}/acme/tiny/resolve/${COMMIT}/onnx/model.onnx`);
    // The repo rename was followed on the Hub; everything after the first answer used the commit.
    const hubUrls = hub.seen.filter((s) => s.where === 'hub').map((s) => `${s.method} ${s.url}`);
    assert.deepEqual(hubUrls.slice(0, 2), [
      'HEAD /old-org/tiny/resolve/main/onnx/model.onnx',
      'HEAD /acme/tiny/resolve/main/onnx/model.onnx',
    ]);
    assert.ok(
      hubUrls.slice(2).every((u) => u.includes(`/resolve/${COMMIT}/`)),
      hubUrls.join('\n'),
    );
    assert.ok(hub.seen.filter((s) => s.where === 'hub').every((s) => s.auth === 'Bearer hf_test_token'));
    const cdn = hub.seen.filter((s) => s.where === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0]!.auth, undefined);
  });

  it("the Hub's refusals and a blob that does not match its ETag: one line, nothing left", async () => {
    const store = tempDir();
    const cases: Array<[string, RegExp]> = [
      ['hf://acme/tiny@v9/onnx/model.onnx', /no such revision \(404\)/],
      ['hf://acme/tiny/onnx/missing.onnx', /no such file in the repository \(404\)/],
      ['hf://acme/private/model.onnx', /no such repository \(or it is private: set HF_TOKEN\) \(401\)/],
      ['hf://acme/corrupt/onnx/model.onnx', /checksum mismatch: expected sha256 [0-9a-f]{64}, got /],
    ];
    for (const [source, message] of cases) {
      const r = await loupe(['models', 'pull', source, '--name', 'm', '--store', store], env);
      assert.equal(r.status, 1, source + r.stderr);
      assert.match(r.stderr.trim().split('\n').at(-1)!, message, source);
      assertNothingLeft(store, 'm');
    }
    // A server that answers 200 to everything, without the Hub's headers.
    const plain = await serve((_req, res) => res.writeHead(200).end('<html>'));
    const notHub = await loupe(['models', 'pull', 'hf://acme/tiny/onnx/model.onnx', '--store', store], {
      HF_ENDPOINT: plain.url,
    });
    plain.server.close();
    assert.equal(notHub.status, 1);
    assert.match(notHub.stderr, /does not answer like the Hugging Face Hub \(no X-Repo-Commit\)/);
    assertNothingLeft(store, 'tiny');
  });

  it('a running serve starts answering with the pulled model, unchanged', async () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 2 });
    const srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'm', LOUPE_MODEL_POLL_S: '0.2' });
    try {
      const before = await json(await fetch(`${srv.url}/models`));
      assert.deepEqual(
        before.models.map((x: { name: string }) => x.name),
        ['m'],
      );
      const r = await loupe(['models', 'pull', 'hf://acme/tiny/onnx/model.onnx', '--store', store], env);
      assert.equal(r.status, 0, r.stderr);
      let info: { description?: string; labels?: string[]; preprocessing?: { resize: string } } | undefined;
      for (let i = 0; i < 100 && !info; i++) {
        const res = await fetch(`${srv.url}/models/tiny`);
        info = res.status === 200 ? await json(res) : (await res.arrayBuffer(), undefined);
        if (!info) await sleep(100);
      }
      assert.ok(info, 'serve never loaded the pulled model');
      assert.match(
        info.description!,
        new RegExp(`^tiny pulled from hf://acme/tiny/onnx/model\\.onnx at ${COMMIT.slice(0, 12)}`),
      );
      assert.deepEqual(info.labels, ['red', 'green', 'blue']);
      assert.equal(info.preprocessing!.resize, 'stretch');
      // A solid colour: each channel's mean is its value, so the logits follow from the weights.
      const rgb = [200, 30, 90];
      const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 90 } } })
        .png()
        .toBuffer();
      const logits = [0, 1, 2].map((k) =>
        rgb.reduce((s, v, c) => s + ((v / 255 - 0.5) / 0.25) * model.weights[c]![k]!, model.bias[k]!),
      );
      const best = logits.indexOf(Math.max(...logits));
      const res = await fetch(`${srv.url}/predict?model=tiny&top_k=3`, { method: 'POST', body: form(png, 'c.png') });
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.model, { name: 'tiny', version: '1' });
      assert.equal(body.predictions[0].label, ['red', 'green', 'blue'][best]);
      const z = logits.map((l) => Math.exp(l - logits[best]!));
      assert.ok(Math.abs(body.predictions[0].score - 1 / z.reduce((a, b) => a + b)) < 1e-4);
    } finally {
      await srv.stop();
    }
  });

  it('LOUPE_MODEL_URIS: pull-all pulls what is missing, once; serve pulls at start', async () => {
    const store = tempDir();
    const files = await serve((req, res) => res.writeHead(200).end(imagenetSized));
    try {
      const uris = `tiny=hf://acme/tiny/onnx/model.onnx big=${files.url}/imagenet.onnx#preset=imagenet`;
      const first = await loupe(['models', 'pull-all', '--store', store], { ...env, LOUPE_MODEL_URIS: uris });
      assert.equal(first.status, 0, first.stdout + first.stderr);
      assert.match(
        first.stdout,
        /✓ tiny\/1 pulled from hf:\/\/acme\/tiny\/onnx\/model\.onnx[\s\S]*✓ big\/1 pulled from/,
      );
      const second = await loupe(['models', 'pull-all', '--store', store, '--validate'], {
        ...env,
        LOUPE_MODEL_URIS: uris,
      });
      assert.equal(second.status, 0, second.stdout + second.stderr);
      assert.match(
        second.stdout,
        /= tiny\/1 is in the store already .*not pulled again\n= big\/1 is in the store already/,
      );
      assert.match(second.stdout, /OK: 2 model version\(s\) valid/);
      const bad = await loupe(['models', 'pull-all', '--store', store], {
        ...env,
        LOUPE_MODEL_URIS: `${uris} x=hf://acme/nope/m.onnx`,
      });
      assert.equal(bad.status, 1);
      assert.match(bad.stdout, /✗ x: hf:\/\/acme\/nope\/m\.onnx: no such repository/);

      const fresh = tempDir();
      writeStoreModel(fresh, { name: 'm', channels: 1, height: 4, width: 4, classes: 2 });
      const srv = await startServe({
        ...env,
        LOUPE_MODEL_STORE: fresh,
        LOUPE_DEFAULT_MODEL: 'm',
        LOUPE_MODEL_URIS: 'tiny=hf://acme/tiny/onnx/model.onnx',
      });
      try {
        const models = await json(await fetch(`${srv.url}/models`));
        assert.deepEqual(models.models.map((x: { name: string }) => x.name).sort(), ['m', 'tiny']);
      } finally {
        await srv.stop();
      }
      await assert.rejects(
        startServe({ ...env, LOUPE_MODEL_STORE: fresh, LOUPE_MODEL_URIS: 'x=hf://acme/nope/m.onnx' }),
        /^StartupError: LOUPE_MODEL_URIS: ✗ x: hf:\/\/acme\/nope\/m\.onnx: no such repository/,
      );
    } finally {
      files.server.close();
    }
  });
});
