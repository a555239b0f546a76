import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '../../src/auth/index.ts';
import { baseImage, docker, dockerBuild, freePort, usesBuildKit, waitHealthy, waitHttp } from '../helpers/docker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json } from '../helpers/server.ts';
import { checkCliClient } from '../helpers/cli-client.ts';
import { checkWebPage } from '../helpers/web-page.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TAG = 'loupe:test';
const RESULTS = path.join(ROOT, 'bench', 'results', 'image.json');

/** The build context as git sees it (plus certs/), copied so a test can edit sources freely. */
function contextCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-ctx-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  for (const f of files) {
    if (!existsSync(path.join(ROOT, f))) continue; // deleted in the work tree, not yet in git
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    cpSync(path.join(ROOT, f), path.join(dir, f));
  }
  cpSync(path.join(ROOT, 'certs'), path.join(dir, 'certs'), { recursive: true });
  return dir;
}

describe('the container image', { timeout: 30 * 60_000 }, () => {
  let base = '';
  let ctx = '';
  const started: string[] = [];
  const report: Record<string, unknown> = {};

  // The image binds 0.0.0.0, so API keys are required: every container gets this keys file.
  const key = generateKey().key;
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'loupe-keys-'));
  const keysFile = path.join(keysDir, 'api_keys');
  const authed = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, headers: { ...(init.headers as object), authorization: `Bearer ${key}` } });

  const start = async (name: string, args: string[] = [], image = TAG) => {
    const port = await freePort();
    const grpcPort = await freePort();
    const keys = ['-v', `${keysFile}:/run/secrets/api_keys:ro`, '-e', 'LOUPE_API_KEYS_FILE=/run/secrets/api_keys'];
    const ports = ['-p', `127.0.0.1:${port}:8000`, '-p', `127.0.0.1:${grpcPort}:8001`];
    const id = await docker('run', '-d', '--name', name, ...ports, ...keys, ...args, image);
    started.push(id);
    return { id, url: `http://127.0.0.1:${port}`, grpc: `127.0.0.1:${grpcPort}` };
  };

  before(async () => {
    writeFileSync(keysFile, `tests predict,read ${key}\n`);
    execFileSync('chmod', ['a+rx', keysDir]);
    execFileSync('chmod', ['a+r', keysFile]); // the container runs as uid 1000
    base = await baseImage();
    ctx = contextCopy();
    for (const n of ['loupe-t-basic', 'loupe-t-hardened', 'loupe-t-stop', 'loupe-t-volume'])
      await docker('rm', '-f', n).catch(() => '');
    const t0 = Date.now();
    await dockerBuild(['-t', TAG, '--build-arg', `BASE_IMAGE=${base}`, '--build-arg', 'REVISION=test', ctx]);
    report.first_build_s = (Date.now() - t0) / 1000;
  });

  after(async () => {
    for (const id of started) await docker('rm', '-f', id).catch(() => '');
    if (ctx) rmSync(ctx, { recursive: true, force: true });
    rmSync(keysDir, { recursive: true, force: true });
    mkdirSync(path.dirname(RESULTS), { recursive: true });
    writeFileSync(
      RESULTS,
      JSON.stringify({ measured_at: new Date().toISOString(), base_image: base, ...report }, null, 2) + '\n',
    );
    console.log(`  image report: ${JSON.stringify(report)}`);
  });

  let basicGrpc = '';

  it('runs, becomes healthy, classifies a real JPEG and serves /docs', async () => {
    const t0 = Date.now();
    const { id, url, grpc } = await start('loupe-t-basic');
    basicGrpc = grpc;
    // Time to the first answer by polling readiness over HTTP (Docker's own health status
    // only updates every HEALTHCHECK interval).
    await waitHttp(`${url}/readyz`, 60_000, 20);
    const res = await authed(`${url}/predict`, { method: 'POST', body: form(fixture('dog-160x120.jpg'), 'dog.jpg') });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model.name, 'fashion-mnist');
    assert.equal(body.predictions.length, 5);
    report.run_to_first_prediction_ms = Date.now() - t0;
    await waitHealthy(id);
    report.run_to_healthy_ms = Date.now() - t0; // Docker's first probe comes one interval (5 s) in
    const docs = await fetch(`${url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    await checkWebPage(url); // the page at /, open without a key
    await checkCliClient(url, key); // `loupe predict` and `loupe jobs` against the container
    // Not on loopback: a request without a key is refused.
    const bare = await fetch(`${url}/models`);
    assert.equal(bare.status, 401);
    assert.equal((await json(bare)).error.code, 'UNAUTHORIZED');
    const logs = await docker('logs', id);
    assert.match(logs, /"msg":"loupe serve listening on http:\/\/0\.0\.0\.0:8000"/);
    // The new /data volume started from the seed built into the image: no initdb, nothing to migrate.
    assert.doesNotMatch(logs, /PGlite seed unusable|database migrated from/);
    // ONNX Runtime's graph optimizer ran in its short-lived child, not in the server.
    assert.match(logs, /"graph_optimized":"child"/);
  });

  it('serves the OIP over gRPC on 8001 (Triton’s port), with the same API keys', async () => {
    const client = grpcClient(basicGrpc);
    try {
      assert.deepEqual((await client.call('ServerReady', {})).response, { ready: true });
      const meta = await client.call('ServerMetadata', {});
      assert.equal(meta.error?.code, 16, meta.error?.details); // UNAUTHENTICATED
      const auth = { authorization: `Bearer ${key}` };
      const r = await client.call(
        'ModelInfer',
        {
          model_name: 'fashion-mnist',
          inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
          outputs: [{ name: 'logits', parameters: { classification: { int64_param: 1 } } }],
          raw_input_contents: [encodeBytesElements([readFileSync(path.join(ROOT, 'docs', 'ankle-boot.png'))])],
        },
        auth,
      );
      assert.equal(r.error, undefined, r.error?.details);
      assert.match(
        Buffer.from(r.response.raw_output_contents[0]).subarray(4).toString(),
        /^-?[\d.]+(e[-+]?\d+)?:9:Ankle boot$/,
      );
      const config = await client.call('ModelConfig', { name: 'fashion-mnist' }, auth);
      assert.deepEqual(config.response.config.input[0].dims, [1, 28, 28]);
    } finally {
      client.close();
    }
  });

  it('runs as a non-root uid, with OCI labels, exec-form entrypoint and a healthcheck', async () => {
    const cfg = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', TAG));
    assert.equal(cfg.User, '1000:1000');
    assert.deepEqual(cfg.Entrypoint, ['node', '/app/dist/cli/main.js']);
    assert.deepEqual(cfg.Cmd, ['serve']);
    assert.deepEqual(cfg.Healthcheck.Test, ['CMD', 'node', '/app/healthcheck.js']);
    assert.ok(cfg.ExposedPorts['8000/tcp']);
    assert.ok(cfg.ExposedPorts['8001/tcp'], 'the gRPC port');
    for (const l of ['title', 'version', 'revision', 'source', 'created', 'licenses'])
      assert.ok(cfg.Labels[`org.opencontainers.image.${l}`], `label ${l}`);
    assert.ok(cfg.Env.includes('NODE_ENV=production'));
    assert.ok(cfg.Env.includes('LOUPE_MODEL_STORE=/models'));
    // loupe_build_info's revision: the same build argument as the label.
    assert.ok(cfg.Env.includes(`LOUPE_REVISION=${cfg.Labels['org.opencontainers.image.revision']}`), 'LOUPE_REVISION');
    assert.ok(
      !cfg.Env.some((e: string) => e.startsWith('NODE_EXTRA_CA_CERTS')),
      'build CA setting leaked into the runtime image',
    );
    const uid = await docker('exec', 'loupe-t-basic', 'node', '-e', 'console.log(process.getuid())');
    assert.equal(uid, '1000');
  });

  it('works read-only, with all capabilities dropped and no-new-privileges', async () => {
    const { id, url } = await start('loupe-t-hardened', [
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
    ]);
    await waitHealthy(id);
    const res = await authed(`${url}/predict`, {
      method: 'POST',
      body: fixture('dog-160x120.png'),
      headers: { 'content-type': 'image/png' },
    });
    assert.equal(res.status, 200);
    // The optimized graph went through the tmpfs /tmp: the read-only root needs nothing else.
    assert.match(await docker('logs', id), /"graph_optimized":"child"/);
  });

  it('docker stop during a request: the request completes and the container exits 0 quickly', async () => {
    const { id, url } = await start('loupe-t-stop');
    await waitHealthy(id);
    const port = Number(new URL(url).port);
    const img = fixture('dog-160x120.jpg');
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/predict',
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'content-length': img.length, authorization: `Bearer ${key}` },
    });
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(img.subarray(0, img.length >> 1));
    await sleep(300);
    const t0 = Date.now();
    const stopping = docker('stop', '-t', '20', id);
    await sleep(500);
    req.end(img.subarray(img.length >> 1));
    assert.equal(await done, 200);
    await stopping;
    const stopMs = Date.now() - t0;
    report.stop_ms = stopMs;
    assert.ok(stopMs < 10_000, `docker stop took ${stopMs} ms`);
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', id), '0');
  });

  it('a volume-mounted model store adds a second model', async () => {
    const store = mkdtempSync(path.join(os.tmpdir(), 'loupe-vol-'));
    cpSync(path.join(ROOT, 'model-store'), store, { recursive: true });
    writeStoreModel(store, { name: 'extra', channels: 3, height: 16, width: 16, classes: 4 });
    execFileSync('chmod', ['-R', 'a+rX', store]);
    const { id, url } = await start('loupe-t-volume', ['-v', `${store}:/models:ro`]);
    await waitHealthy(id);
    const models = await json(await authed(`${url}/models`));
    assert.deepEqual(models.models.map((m: { name: string }) => m.name).sort(), ['extra', 'fashion-mnist']);
    const res = await json(
      await authed(`${url}/predict?model=extra`, { method: 'POST', body: form(fixture('dog-160x120.jpg')) }),
    );
    assert.deepEqual(res.model, { name: 'extra', version: '1' });
  });

  it('keeps CA files, .git, tests and dev dependencies out of the runtime image', async () => {
    // certs/ of the build context (CI puts the machine's CA bundle there) is for build stages only.
    const cas = readdirSync(path.join(ctx, 'certs')).filter((f) => /\.(crt|pem)$/.test(f));
    const check = [
      'test ! -e /tmp/certs',
      'test ! -e /tmp/extra-ca.pem',
      'test ! -e /app/.git',
      'test ! -e /app/test',
      'test ! -e /app/src',
      'test ! -e /app/node_modules/typescript',
      'test ! -e /app/node_modules/eslint',
      'test ! -e /app/node_modules/onnx-proto',
      'test ! -e /app/node_modules/onnxruntime-node/bin/napi-v6/win32',
      'test ! -e /app/node_modules/onnxruntime-node/bin/napi-v6/darwin',
      ...cas.map((f) => `! find / -xdev -name '${f}' 2>/dev/null | grep -q .`),
    ].join(' && ');
    await docker('run', '--rm', '--entrypoint', 'sh', TAG, '-c', check);
  });

  it('a source-only change rebuilds without re-running npm ci (same dependency layers, new dist layer)', async () => {
    // Asserted on the images, not on a builder's log ("Step"/"Using cache" is the classic
    // builder's; BuildKit prints "CACHED"): every layer up to the last one the runtime stage
    // makes before it copies from the build stage (node_modules from prod-deps, package.json,
    // the models…) must be the very same layer; a re-run `npm ci` would make new ones.
    const file = path.join(ctx, 'src', 'cli', 'main.ts');
    // New content every run: builders cache COPY by content, so a marker an earlier run on this
    // machine already built would be a cache hit.
    writeFileSync(file, readFileSync(file, 'utf8') + `\n// touched by the cache test ${randomUUID()}\n`);
    const t0 = Date.now();
    await dockerBuild([
      '-t',
      'loupe:test-rebuild',
      '--build-arg',
      `BASE_IMAGE=${base}`,
      '--build-arg',
      'REVISION=test',
      ctx,
    ]);
    report.source_only_rebuild_s = (Date.now() - t0) / 1000;
    report.builder = usesBuildKit ? 'buildkit' : 'classic';
    const layers = async (image: string) =>
      JSON.parse(await docker('image', 'inspect', '-f', '{{json .RootFS.Layers}}', image)) as string[];
    const [first, again, baseLayers] = await Promise.all([layers(TAG), layers('loupe:test-rebuild'), layers(base)]);
    const shared = first.findIndex((l, i) => again[i] !== l);
    // Layer-making instructions of the runtime stage before its first COPY --from=build.
    const dockerfile = readFileSync(path.join(ctx, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
    const before = runtime.slice(0, runtime.indexOf('COPY --from=build'));
    const kept = before.split('\n').filter((l) => /^(COPY|RUN|ADD) /.test(l)).length;
    assert.ok(kept >= 4, `runtime stage: ${kept} layers before the build output`);
    assert.equal(again.length, first.length, 'the same Dockerfile makes as many layers');
    assert.notEqual(shared, -1, 'the changed source must give a new dist layer (the TypeScript build re-ran)');
    assert.ok(
      shared >= baseLayers.length + kept,
      `only ${shared} layers shared, ${baseLayers.length} base + ${kept} dependency/model layers expected`,
    );
    report.rebuild_layers_shared = `${shared}/${first.length}`;
    await docker('rmi', 'loupe:test-rebuild').catch(() => '');
  });

  it('reports the image size and what Loupe adds on top of the base', async () => {
    const size = Number(await docker('image', 'inspect', '-f', '{{.Size}}', TAG));
    const baseSize = Number(await docker('image', 'inspect', '-f', '{{.Size}}', base));
    report.image_mb = Math.round(size / 1e5) / 10;
    report.base_mb = Math.round(baseSize / 1e5) / 10;
    report.added_mb = Math.round((size - baseSize) / 1e5) / 10;
    const history = await docker('history', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', TAG);
    report.layers = history
      .split('\n')
      .filter((l) => !l.startsWith('0B'))
      .slice(0, 8)
      .map((l) => l.replace(/\s+/g, ' ').slice(0, 140));
    assert.ok(size > baseSize);
  });
});
