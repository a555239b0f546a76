import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composeFor } from '../helpers/compose.ts';
import { baseImage, docker, dockerBuild, freePort, waitHealthy, waitHttp } from '../helpers/docker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { tinyModel } from '../helpers/onnx-model.ts';
import { form, json } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const IMAGE = 'loupe:test';
const NET = 'loupe-pull-t';
const SRC = 'loupe-pull-src';
const VOLUME = 'loupe-pull-t-models';
const PROJECT = 'loupepull';

// A real ONNX graph of ImageNet's shape (224×224 RGB in, 1000 logits out), so the image's
// `--preset imagenet` (and its shipped labels file) apply; served from a container of our own.
const model = tinyModel({ channels: 3, height: 224, width: 224, classes: 1000, seed: 5 }).bytes;
const SHA = createHash('sha256').update(model).digest('hex');
const FILE_SERVER = `require('http').createServer((q,s)=>{const f=require('fs');const p='/srv'+q.url;f.existsSync(p)?s.end(f.readFileSync(p)):s.writeHead(404).end()}).listen(8080)`;

describe('models pull in the image and the stack (own containers only)', { timeout: 30 * 60_000 }, () => {
  let srcDir = '';
  const cleanup: Array<() => Promise<unknown>> = [];
  const compose = composeFor(PROJECT, {
    LOUPE_IMAGE: IMAGE,
    LOUPE_LOG_LEVEL: 'warn',
    LOUPE_MODEL_URIS: `tiny=http://modelsrc:8080/tiny.onnx#sha256=${SHA}&preset=imagenet`,
  });

  /** The file server on a network, reachable by its name (and by `alias`). */
  const startSource = async (name: string, network: string, alias?: string) => {
    await docker('rm', '-f', name).catch(() => '');
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      ...(alias ? ['--network-alias', alias] : []),
      '-v',
      `${srcDir}:/srv:ro`,
      '--no-healthcheck',
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      FILE_SERVER,
    );
    cleanup.push(() => docker('rm', '-f', name));
  };

  before(async () => {
    srcDir = mkdtempSync(path.join(os.tmpdir(), 'loupe-pull-src-'));
    writeFileSync(path.join(srcDir, 'tiny.onnx'), model);
    chmodSync(srcDir, 0o755);
    await dockerBuild(['-q', '-t', IMAGE, '--build-arg', `BASE_IMAGE=${await baseImage()}`, ROOT]);
    await docker('rm', '-f', 'loupe-pull-serve').catch(() => '');
    await docker('volume', 'rm', '-f', VOLUME).catch(() => '');
    await docker('network', 'rm', NET).catch(() => '');
    await docker('network', 'create', NET);
    cleanup.push(
      () => docker('network', 'rm', NET),
      () => docker('volume', 'rm', '-f', VOLUME),
    );
    await startSource(SRC, NET);
  });

  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => '');
    await compose('down', '-v', '--remove-orphans').catch(() => '');
    if (srcDir) rmSync(srcDir, { recursive: true, force: true });
  });

  it('the image pulls into a volume, and `serve` answers with that entry unchanged', async () => {
    const out = await docker(
      'run',
      '--rm',
      '--network',
      NET,
      '-v',
      `${VOLUME}:/models`,
      '--read-only',
      '--tmpfs',
      '/tmp',
      IMAGE,
      'models',
      'pull',
      `http://${SRC}:8080/tiny.onnx`,
      '--sha256',
      SHA,
      '--preset',
      'imagenet',
      '--name',
      'tiny',
    );
    assert.match(
      out,
      /✓ tiny\/1: input input \[batch, 3, 224, 224\] rgb, output logits \[batch, 1000\] logits, 1000 labels/,
    );
    const port = await freePort();
    const id = await docker(
      'run',
      '-d',
      '--name',
      'loupe-pull-serve',
      '-p',
      `127.0.0.1:${port}:8000`,
      '-e',
      'LOUPE_AUTH=off',
      // This test is about the model store; gRPC has its own tests.
      '-e',
      'LOUPE_GRPC_PORT=off',
      '-v',
      `${VOLUME}:/models:ro`,
      IMAGE,
    );
    cleanup.push(() => docker('rm', '-f', id));
    await waitHealthy(id);
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    const info = await json(await fetch(`${url}/models/tiny`));
    assert.match(
      info.description,
      new RegExp(`^tiny pulled from http://${SRC}:8080/tiny\\.onnx \\(sha256 ${SHA.slice(0, 12)}\\)`),
    );
    assert.equal(info.labels[0], 'tench'); // the ImageNet labels shipped in the image
    assert.equal(info.preprocessing.resize_shorter, 256);
    const res = await fetch(`${url}/predict?model=tiny&top_k=2`, {
      method: 'POST',
      body: form(fixture('dog-160x120.jpg'), 'dog.jpg'),
    });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.model, { name: 'tiny', version: '1' });
  });

  it('the stack: models-init pulls LOUPE_MODEL_URIS once, the model servers serve it', async () => {
    execFileSync('bash', ['scripts/compose-init.sh'], { cwd: ROOT });
    await compose('down', '-v', '--remove-orphans').catch(() => '');
    // Creates the project's networks (and models-init, which waits for nothing) without starting it.
    await compose('up', '--no-start', 'models-init');
    await startSource(`${PROJECT}-modelsrc`, `${PROJECT}_egress`, 'modelsrc');
    await compose('up', '-d', 'model');
    const init = await compose('logs', '--no-color', 'models-init');
    assert.match(init, /✓ tiny\/1 pulled from http:\/\/modelsrc:8080\/tiny\.onnx/);
    assert.match(init, /OK: 2 model version\(s\) valid/);
    const modelId = (
      await docker(
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--filter',
        'label=com.docker.compose.service=model',
      )
    ).split('\n')[0]!;
    await waitHealthy(modelId, 120_000);
    const meta = await docker(
      'exec',
      modelId,
      'node',
      '-e',
      "fetch('http://127.0.0.1:8000/models/tiny').then(r=>r.text()).then(t=>process.stdout.write(t))",
    );
    assert.match(JSON.parse(meta).description, /^tiny pulled from http:\/\/modelsrc:8080\/tiny\.onnx/);
    // Run again (a restart of the stack): the version is there, nothing is pulled.
    await compose('rm', '-f', 'models-init');
    await compose('up', '-d', '--no-deps', 'models-init');
    await docker('wait', `${PROJECT}_models-init_1`).catch(() => '');
    assert.match(
      await compose('logs', '--no-color', 'models-init'),
      /= tiny\/1 is in the store already .*not pulled again/,
    );
  });
});
