import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { composeFor } from '../helpers/compose.ts';
import { baseImage, docker, dockerBuild, freePort, servedPredictions, waitHttp } from '../helpers/docker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { form, json } from '../helpers/server.ts';
import { checkCliClient } from '../helpers/cli-client.ts';
import { checkWebPage } from '../helpers/web-page.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROJECT = 'loupetest';
const IMAGE = 'loupe:test';
const TRAINER = 'loupe-trainer:test';

async function containers(service: string): Promise<string[]> {
  const out = await docker(
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  );
  return out.split('\n').filter(Boolean);
}

describe('the compose stack', { timeout: 40 * 60_000 }, () => {
  let port = 0;
  let grpcPort = 0;
  let url = '';
  let compose: ReturnType<typeof composeFor>;
  let key = '';

  /** A request through the proxy with the API key compose-init.sh put in deploy/secrets/api_keys. */
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${url}${p}`, { ...init, headers: { ...(init.headers as object), authorization: `Bearer ${key}` } });

  const predict = (query = '') =>
    api(`/predict${query}`, { method: 'POST', body: form(fixture('dog-160x120.jpg'), 'dog.jpg') });
  const waitJob = async (id: string, timeoutMs = 120_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const res = await api(`/jobs/${id}`).catch(() => undefined);
      const j = res?.status === 200 ? await json(res) : undefined;
      if (j && (j.status === 'completed' || j.status === 'failed')) return j;
      if (Date.now() > end) throw new Error(`job ${id} not done: ${JSON.stringify(j)}`);
      await sleep(250);
    }
  };
  const up = async (...extra: string[]) => {
    await compose('up', '-d', ...extra);
    await waitHttp(`${url}/readyz`, 180_000);
  };

  before(async () => {
    execFileSync('bash', ['scripts/compose-init.sh'], { cwd: ROOT });
    // "<name> <scopes> <key>" lines; the first key is the one compose-init made (predict,read).
    const line = readFileSync(path.join(ROOT, 'deploy/secrets/api_keys'), 'utf8')
      .split('\n')
      .find((l) => l.trim() && !l.startsWith('#'))!;
    key = line.trim().split(/\s+/)[2]!;
    const base = await baseImage();
    const offline = base.startsWith('loupe-offline/');
    await dockerBuild(['-q', '-t', IMAGE, '--build-arg', `BASE_IMAGE=${base}`, ROOT]);
    await dockerBuild([
      '-q',
      '-t',
      TRAINER,
      ...(offline ? ['--build-arg', 'BASE_IMAGE=loupe-offline/python-torch:trixie'] : []),
      path.join(ROOT, 'training'),
    ]);
    port = await freePort();
    grpcPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    compose = composeFor(PROJECT, {
      LOUPE_IMAGE: IMAGE,
      TRAINER_IMAGE: TRAINER,
      LOUPE_PORT: String(port),
      LOUPE_GRPC_PUBLISH_PORT: String(grpcPort),
      LOUPE_MODEL_POLL_S: '2',
      LOUPE_LOG_LEVEL: 'warn',
      // The test's webhook receiver joins the private egress network as "hook".
      LOUPE_WEBHOOK_ALLOW: 'hook',
      ...(offline
        ? { NGINX_IMAGE: 'loupe-offline/nginx:trixie', POSTGRES_IMAGE: 'loupe-offline/postgres:17-trixie' }
        : {}),
    });
    await compose('down', '-v', '--remove-orphans').catch(() => '');
    await up();
  });

  after(async () => {
    await docker('rm', '-f', `${PROJECT}-hook`).catch(() => '');
    if (process.env.LOUPE_KEEP_STACK !== '1') await compose?.('down', '-v', '--remove-orphans').catch(() => '');
  });

  it('answers through the proxy on loopback only', async () => {
    const res = await predict('?top_k=3');
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model.name, 'fashion-mnist');
    assert.equal(body.predictions.length, 3);
    assert.ok(res.headers.get('x-request-id'));
    assert.equal((await fetch(`${url}/docs/`)).status, 200);
    await checkWebPage(url); // nginx routes the page and its assets to the gateways
    await checkCliClient(url, key); // and the command-line client works through it
    const ports = await docker(
      'ps',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--format',
      '{{.Names}} {{.Ports}}',
    );
    const published = ports.split('\n').filter((l) => l.includes('->'));
    assert.equal(published.length, 1, ports);
    assert.match(published[0]!, /proxy.*127\.0\.0\.1:\d+->8080/);
    assert.match(published[0]!, new RegExp(`127\\.0\\.0\\.1:${grpcPort}->8081`));
  });

  it('speaks the OIP over gRPC through the proxy (h2c → the gateways), with the same API key', async () => {
    const client = grpcClient(`127.0.0.1:${grpcPort}`);
    try {
      const auth = { authorization: `Bearer ${key}`, 'x-request-id': 'stack-grpc-1' };
      assert.deepEqual((await client.call('ServerLive', {})).response, { live: true });
      const infer = {
        model_name: 'fashion-mnist',
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
        outputs: [{ name: 'logits', parameters: { classification: { int64_param: 1 } } }],
        raw_input_contents: [encodeBytesElements([readFileSync(path.join(ROOT, 'docs', 'ankle-boot.png'))])],
      };
      const bare = await client.call('ModelInfer', infer);
      assert.equal(bare.error?.code, 16, bare.error?.details); // UNAUTHENTICATED
      const r = await client.call('ModelInfer', infer, auth);
      assert.equal(r.error, undefined, r.error?.details);
      assert.equal(r.response.model_name, 'fashion-mnist');
      const best = Buffer.from(r.response.raw_output_contents[0]).subarray(4).toString();
      assert.match(best, /^-?[\d.]+(e[-+]?\d+)?:9:Ankle boot$/);
      assert.deepEqual(r.trailers?.get('x-request-id'), ['stack-grpc-1']);
      const missing = await client.call('ModelInfer', { ...infer, model_name: 'nope' }, auth);
      assert.equal(missing.error?.code, 5); // NOT_FOUND
    } finally {
      client.close();
    }
  });

  it('requires the API key at the proxy, and keeps /metrics inside', async () => {
    const bare = await fetch(`${url}/predict`, { method: 'POST', body: form(fixture('dog-160x120.jpg'), 'dog.jpg') });
    assert.equal(bare.status, 401);
    assert.equal(bare.headers.get('www-authenticate'), 'Bearer realm="loupe"');
    assert.equal((await json(bare)).error.code, 'UNAUTHORIZED');
    const wrong = await fetch(`${url}/models`, { headers: { 'x-api-key': `${key.slice(0, -4)}AAAA` } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${url}/livez`)).status, 200);
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 404);
    assert.equal((await json(metrics)).error.code, 'NOT_FOUND');
    assert.equal((await api('/metrics?x=1')).status, 404);
    // Only the key's own records: compose-init's key has no admin scope.
    const mine = await json(await api('/predictions?limit=500'));
    assert.ok(Array.isArray(mine.items));
    // An operator makes more keys with the same image, in the same database.
    const out = await compose(
      'run',
      '--rm',
      '--no-deps',
      '-T',
      'gateway',
      'keys',
      'create',
      '--name',
      'ops',
      '--scope',
      'admin',
    );
    const admin = /lp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}/.exec(out)?.[0];
    assert.ok(admin, out);
    const all = await fetch(`${url}/predictions?limit=500`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(all.status, 200);
    assert.ok((await json(all)).items.length >= mine.items.length);
  });

  it('PostgreSQL publishes no port and sits only on the internal network', async () => {
    const [db] = await containers('db');
    const bindings = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', db!)) as Record<
      string,
      unknown[] | null
    >;
    assert.deepEqual(
      Object.values(bindings).filter((b) => b && b.length),
      [],
      'db has a host port binding',
    );
    const networks = Object.keys(JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', db!)));
    assert.deepEqual(networks, [`${PROJECT}_backend`]);
    assert.equal(await docker('network', 'inspect', '-f', '{{.Internal}}', `${PROJECT}_backend`), 'true');
    // The public-facing tier cannot even resolve it.
    const [proxy] = await containers('proxy');
    await assert.rejects(docker('exec', proxy!, 'bash', '-c', 'exec 3<>/dev/tcp/db/5432'));
  });

  it('a job completes and its signed webhook reaches a receiver', async () => {
    const network = `${PROJECT}_egress`;
    await docker('rm', '-f', `${PROJECT}-hook`).catch(() => '');
    await docker(
      'run',
      '-d',
      '--name',
      `${PROJECT}-hook`,
      '--network',
      network,
      '--network-alias',
      'hook',
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      "require('http').createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{console.log(JSON.stringify({sig:q.headers['x-loupe-signature'],body:b}));s.end('ok')})}).listen(9000)",
    );
    const f = new FormData();
    f.append('webhook_url', 'http://hook:9000/loupe');
    f.append('file', new Blob([fixture('dog-160x120.jpg')]), 'a.jpg');
    f.append('file', new Blob([fixture('dog-160x120.png')]), 'b.png');
    const accepted = await json(await api(`/jobs`, { method: 'POST', body: f }));
    const job = await waitJob(accepted.id);
    assert.equal(job.status, 'completed');
    assert.deepEqual(job.progress, { total: 2, done: 2, failed: 0 });
    let logs = '';
    for (let i = 0; i < 60 && !logs.includes(accepted.id); i++) {
      logs = await docker('logs', `${PROJECT}-hook`);
      await sleep(500);
    }
    // The receiver joined the project's network from outside compose: it must go before `down`.
    await docker('rm', '-f', `${PROJECT}-hook`);
    const line = JSON.parse(logs.split('\n').find((l) => l.includes(accepted.id))!);
    assert.match(line.sig, /^sha256=[0-9a-f]{64}$/);
    assert.equal(JSON.parse(line.body).data.id, accepted.id);
  });

  it('scales to 3 gateways and 3 model servers, and every model replica serves ≥ 20% of 300 requests', async () => {
    await compose('up', '-d', '--scale', 'gateway=3', '--scale', 'model=3');
    await waitHttp(`${url}/readyz`, 120_000);
    const models = await containers('model');
    assert.equal(models.length, 3);
    assert.equal((await containers('gateway')).length, 3);
    await sleep(6000); // gateways re-resolve the model service every LOUPE_MODEL_POLL_S
    const before = await Promise.all(models.map(servedPredictions));
    let next = 0;
    const client = async () => {
      while (next < 300) {
        next++;
        const r = await predict();
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 10 }, client));
    const after = await Promise.all(models.map(servedPredictions));
    const share = after.map((a, i) => a - before[i]!);
    assert.equal(
      share.reduce((a, b) => a + b, 0),
      300,
      `served: ${share}`,
    );
    for (const s of share) assert.ok(s >= 60, `per-replica share ${share.join(', ')}`);
  });

  it('killing one model replica during a bounded load fails no request', async () => {
    const [victim] = await containers('model');
    let ok = 0;
    const failures: number[] = [];
    const end = Date.now() + 8000;
    const client = async () => {
      while (Date.now() < end) {
        const r = await predict().catch(() => undefined);
        if (r?.status === 200) ok++;
        else failures.push(r?.status ?? 0);
        await r?.arrayBuffer();
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));
    await sleep(2000);
    await docker('kill', victim!);
    await load;
    assert.deepEqual(failures, []);
    assert.ok(ok > 50, `only ${ok} requests`);
  });

  it('restarting the database while jobs are queued loses none', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = new FormData();
      for (let k = 0; k < 3; k++) f.append('file', new Blob([fixture('dog-160x120.jpg')]), `${i}-${k}.jpg`);
      ids.push((await json(await api(`/jobs`, { method: 'POST', body: f }))).id);
    }
    await compose('restart', 'db');
    for (const id of ids) {
      const j = await waitJob(id, 180_000);
      assert.equal(j.status, 'completed');
      assert.equal(j.progress.done, 3);
    }
  });

  it('a worker killed mid-job: the job is handed out again and completes', async () => {
    // 64 web-size photos: long enough a job to kill the worker while it is on it.
    const photo = await sharp(fixture('dog-160x120.jpg')).resize(1024, 768).jpeg({ quality: 90 }).toBuffer();
    const f = new FormData();
    for (let k = 0; k < 64; k++) f.append('file', new Blob([photo]), `${k}.jpg`);
    const accepted = await json(await api(`/jobs`, { method: 'POST', body: f }));
    let seen: { status: string; progress: { done: number } } | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end && seen?.status !== 'running'; await sleep(10)) {
      seen = await json(await api(`/jobs/${accepted.id}`));
    }
    assert.equal(seen?.status, 'running');
    const [worker] = await containers('worker');
    await docker('kill', worker!);
    assert.ok(
      (await json(await api(`/jobs/${accepted.id}`))).progress.done < 64,
      'the job ended before the worker was killed',
    );
    await docker('start', worker!); // `restart: unless-stopped` may have done so already
    // pg-boss hands the job out again once the dead worker's heartbeat lapses (10 s + a supervise pass).
    const job = await waitJob(accepted.id, 120_000);
    assert.equal(job.status, 'completed');
    assert.deepEqual(job.progress, { total: 64, done: 64, failed: 0 });
    assert.equal(job.items.filter((i: { status: string }) => i.status === 'done').length, 64);
  });

  it('down then up keeps the prediction history and the jobs', async () => {
    const p = await json(await predict());
    const f = new FormData();
    f.append('file', new Blob([fixture('dog-160x120.png')]), 'x.png');
    const job = await waitJob((await json(await api(`/jobs`, { method: 'POST', body: f }))).id);
    await compose('down');
    await up();
    const rec = await json(await api(`/predictions/${p.id}`));
    assert.deepEqual(rec.predictions, p.predictions);
    assert.equal((await json(await api(`/jobs/${job.id}`))).status, 'completed');
  });

  it('the train profile writes a new version that the model servers then serve, reproducibly', async () => {
    const train = () =>
      compose(
        '--profile',
        'train',
        'run',
        '--rm',
        'train',
        '--store',
        '/models',
        '--epochs',
        '1',
        '--limit',
        '3000',
        '--seed',
        '7',
        '--no-verify',
      );
    await train();
    let version = '';
    for (let i = 0; i < 60 && version !== '2'; i++) {
      version = (await json(await api(`/models/fashion-mnist`))).version;
      if (version !== '2') await sleep(1000);
    }
    assert.equal(version, '2');
    const res = await json(await predict('?version=2'));
    assert.deepEqual(res.model, { name: 'fashion-mnist', version: '2' });
    const latest = await json(await predict());
    assert.equal(latest.model.version, '2');
    // Same seed, same data: the next version scores exactly the same.
    await train();
    const metrics = async (v: string) =>
      JSON.parse(
        await docker(
          'run',
          '--rm',
          '-v',
          `${PROJECT}_model-store:/m:ro`,
          '--entrypoint',
          'cat',
          IMAGE,
          `/m/fashion-mnist/${v}/metrics.json`,
        ),
      ) as { test_accuracy: number; confusion_matrix: number[][] };
    const [m2, m3] = [await metrics('2'), await metrics('3')];
    assert.equal(m3.test_accuracy, m2.test_accuracy);
    assert.deepEqual(m3.confusion_matrix, m2.confusion_matrix);
  });
});
