import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { baseImage, builderEnv, docker, freePort, servedPredictions, waitHttp } from '../helpers/docker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { form, json } from '../helpers/server.ts';
import { converged, initSwarm, removeStack, serviceContainers, startRegistry } from '../helpers/swarm.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STACK = 'loupeswarm';
const svc = (name: string) => `${STACK}_${name}`;
const run = promisify(execFile);

interface Manifest {
  version: string;
  revision: string;
  images: Array<{ name: string; repository: string; tags: string[]; digest: string; reference: string; id: string }>;
  skipped: Array<{ name: string; reason: string }>;
}

// Every step is bounded on its own (a docker CLI that waits for a convergence that never
// comes fails that step; the after hook still cleans up), the whole within the describe's.
describe('the stack on Docker Swarm, pulled from a registry', { timeout: 40 * 60_000 }, () => {
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  let swarm = false;
  let url = '';
  let grpcPort = 0;
  let key = '';
  let v1: Manifest;
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'loupe-release-'));
  const env: Record<string, string> = {};

  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${url}${p}`, {
      ...init,
      headers: { ...(init.headers as object), authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(30_000),
    });
  const predict = () => api('/predict', { method: 'POST', body: form(fixture('dog-160x120.jpg'), 'dog.jpg') });

  /** `npm run release` as a user runs it (the script itself, under this Node). */
  const release = async (version: string, ...extra: string[]): Promise<{ out: string; manifest: Manifest }> => {
    const base = await baseImage();
    const offline = base.startsWith('loupe-offline/');
    const args = ['scripts/release.ts', '--registry', registry!.address, '--version', version, '--base-image', base];
    if (offline) args.push('--trainer-base-image', 'loupe-offline/python-torch:trixie');
    // The work tree of a test run may hold uncommitted changes; CI's fresh clone does not.
    args.push('--allow-dirty', '--out', path.join(outDir, version), ...extra);
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...builderEnv },
      maxBuffer: 64 * 1024 * 1024,
    });
    const manifest = JSON.parse(readFileSync(path.join(outDir, version, 'manifest.json'), 'utf8')) as Manifest;
    return { out: stdout + stderr, manifest };
  };

  /** Runs `during` while `clients` loops send predictions; every answer must be a 200. */
  const underLoad = async (clients: number, during: () => Promise<unknown>, tailMs = 3000) => {
    let stop = false;
    let ok = 0;
    let failed = 0;
    const failures: string[] = []; // the first few, for the message; `failed` counts them all
    const fail = (what: string) => {
      failed++;
      if (failures.length < 10) failures.push(what);
    };
    const deadline = Date.now() + 8 * 60_000; // bounded even if `during` hangs
    const client = async () => {
      while (!stop && Date.now() < deadline) {
        try {
          const r = await predict();
          const body = await r.text();
          if (r.status === 200) ok++;
          else fail(`${r.status} ${body.slice(0, 200)}`);
        } catch (err) {
          fail(String(err));
        }
      }
    };
    const load = Promise.all(Array.from({ length: clients }, client));
    try {
      await sleep(1000);
      await during();
      await sleep(tailMs);
    } finally {
      stop = true;
      await load;
    }
    return { ok, failed, failures };
  };

  const waitJob = async (id: string, timeoutMs = 180_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const res = await api(`/jobs/${id}`).catch(() => undefined);
      const j = res?.status === 200 ? await json(res) : undefined;
      if (j && (j.status === 'completed' || j.status === 'failed')) return j;
      if (Date.now() > end) throw new Error(`job ${id} not done: ${JSON.stringify(j)}`);
      await sleep(500);
    }
  };

  const deploy = () =>
    run('docker', ['stack', 'deploy', '--resolve-image', 'always', '-c', 'deploy/swarm/stack.yaml', STACK], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });

  before(
    async () => {
      execFileSync('bash', ['scripts/compose-init.sh'], { cwd: ROOT });
      const line = readFileSync(path.join(ROOT, 'deploy/secrets/api_keys'), 'utf8')
        .split('\n')
        .find((l) => l.trim() && !l.startsWith('#'))!;
      key = line.trim().split(/\s+/)[2]!;
      registry = await startRegistry();
      const reg = registry.address;

      v1 = (await release('1.0.0')).manifest;
      // The third-party images come from the registry too, as on a real swarm (offline here: the stand-ins).
      const offline = (await baseImage()).startsWith('loupe-offline/');
      const third = offline
        ? { NGINX_IMAGE: 'loupe-offline/nginx:trixie', POSTGRES_IMAGE: 'loupe-offline/postgres:17-trixie' }
        : { NGINX_IMAGE: 'nginx:1.29.3-trixie', POSTGRES_IMAGE: 'postgres:17.6-trixie' };
      for (const [k, image] of Object.entries(third)) {
        await docker('tag', image, `${reg}/${image}`);
        await docker('push', `${reg}/${image}`);
        await docker('rmi', `${reg}/${image}`);
        env[k] = `${reg}/${image}`;
      }
      // Nothing of the release left locally: the swarm must pull it.
      for (const image of v1.images) for (const tag of image.tags) await docker('rmi', tag);

      const node = await initSwarm();
      swarm = true;
      // pgdata is a local volume: the database is pinned to the node labelled for it.
      await docker('node', 'update', '--label-add', 'loupe-db=true', node);
      const port = await freePort();
      grpcPort = await freePort();
      url = `http://127.0.0.1:${port}`;
      Object.assign(env, {
        LOUPE_REGISTRY: reg,
        LOUPE_VERSION: '1.0.0',
        // This kernel has no IPVS: no VIP, no routing mesh (docs/swarm.md).
        LOUPE_PUBLISH_MODE: 'host',
        LOUPE_PROXY_ENDPOINT_MODE: 'dnsrr',
        LOUPE_PORT: String(port),
        LOUPE_GRPC_PUBLISH_PORT: String(grpcPort),
        LOUPE_DB_PLACEMENT: 'node.labels.loupe-db==true',
        LOUPE_MODEL_POLL_S: '2',
        LOUPE_LOG_LEVEL: 'warn',
        // The rollout's bounded load is one key at full speed for minutes: on a fast machine it
        // passes the default 6000 requests a minute, and a 429 there would say nothing about the
        // rollout. Per-client limits have their own tests.
        LOUPE_RATE_LIMIT_PER_MINUTE: '0',
        GATEWAY_REPLICAS: '2',
        MODEL_REPLICAS: '2',
        WORKER_REPLICAS: '1',
      });
      await deploy();
      await waitHttp(`${url}/readyz`, 300_000, 500);
      await converged(svc('gateway'), 2);
    },
    { timeout: 25 * 60_000 },
  );

  after(
    async () => {
      if (process.env.LOUPE_KEEP_STACK === '1') return;
      if (swarm) {
        await removeStack(STACK);
        await docker('swarm', 'leave', '--force').catch(() => '');
        await docker('volume', 'rm', svc('pgdata'), svc('model-store')).catch(() => '');
        await docker('network', 'rm', 'docker_gwbridge').catch(() => '');
      }
      // Every reference to the test registry (tags and pulled digests), never the images behind other names.
      const tags = await docker('images', '--format', '{{.Repository}}:{{.Tag}}').catch(() => '');
      const digests = await docker('images', '--digests', '--format', '{{.Repository}}@{{.Digest}}').catch(() => '');
      for (const ref of `${tags}\n${digests}`.split('\n'))
        if (registry && ref.startsWith(`${registry.address}/`) && !ref.endsWith('<none>'))
          await docker('rmi', ref).catch(() => '');
      await registry?.stop();
      rmSync(outDir, { recursive: true, force: true });
    },
    { timeout: 5 * 60_000 },
  );

  it('released both images with three tags, the OCI labels and their digests', { timeout: 2 * 60_000 }, async () => {
    assert.deepEqual(v1.images.map((i) => i.name).sort(), ['loupe', 'loupe-trainer']);
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    assert.ok(v1.revision.startsWith(commit), v1.revision);
    for (const image of v1.images) {
      assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(
        image.tags.map((t) => t.split(':').at(-1)),
        ['1.0.0', `${commit.slice(0, 12)}${v1.revision.endsWith('-dirty') ? '-dirty' : ''}`, 'latest'],
      );
      const tags = await json(await fetch(`http://${registry!.address}/v2/${image.name}/tags/list`));
      assert.deepEqual([...tags.tags].sort(), image.tags.map((t) => t.split(':').at(-1)).sort());
    }
    assert.equal(v1.skipped[0]?.name, 'loupe-gpu');
    // The running tasks use the pushed digest, pulled from the registry (the local tags were removed).
    const loupe = v1.images.find((i) => i.name === 'loupe')!;
    const spec = await docker('service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', svc('gateway'));
    assert.equal(spec, `${loupe.repository}:1.0.0@${loupe.digest}`);
    const [gw] = await serviceContainers(svc('gateway'));
    const labels = JSON.parse(await docker('inspect', '-f', '{{json .Config.Labels}}', gw!));
    assert.equal(labels['org.opencontainers.image.version'], '1.0.0');
    assert.equal(labels['org.opencontainers.image.revision'], v1.revision);
    assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.match(labels['org.opencontainers.image.created'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(labels['org.opencontainers.image.source']);
  });

  it(
    'predicts through the proxy over HTTP and gRPC, with the API key from the swarm secret',
    { timeout: 2 * 60_000 },
    async () => {
      const res = await predict();
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.model.name, 'fashion-mnist');
      assert.equal((await fetch(`${url}/models`)).status, 401);
      const client = grpcClient(`127.0.0.1:${grpcPort}`);
      try {
        const r = await client.call(
          'ModelInfer',
          {
            model_name: 'fashion-mnist',
            inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
            outputs: [{ name: 'logits', parameters: { classification: { int64_param: 1 } } }],
            raw_input_contents: [encodeBytesElements([readFileSync(path.join(ROOT, 'docs', 'ankle-boot.png'))])],
          },
          { authorization: `Bearer ${key}` },
        );
        assert.equal(r.error, undefined, r.error?.details);
        assert.match(Buffer.from(r.response.raw_output_contents[0]).subarray(4).toString(), /:9:Ankle boot$/);
      } finally {
        client.close();
      }
    },
  );

  it(
    '`docker service scale` model=3: every replica serves ≥ 20% of 300 requests',
    { timeout: 6 * 60_000 },
    async () => {
      await docker('service', 'scale', '--detach=false', `${svc('model')}=3`);
      await converged(svc('model'), 3);
      await sleep(5000); // the gateways re-resolve the model service every LOUPE_MODEL_POLL_S (2 s)
      const models = await serviceContainers(svc('model'));
      assert.equal(models.length, 3);
      const before = await Promise.all(models.map(servedPredictions));
      let next = 0;
      const client = async () => {
        while (next < 300) {
          next++;
          const r = await predict();
          assert.equal(r.status, 200, await r.text());
          await r.arrayBuffer().catch(() => undefined);
        }
      };
      await Promise.all(Array.from({ length: 10 }, client));
      const share = (await Promise.all(models.map(servedPredictions))).map((a, i) => a - before[i]!);
      assert.equal(
        share.reduce((a, b) => a + b, 0),
        300,
        `served: ${share}`,
      );
      for (const s of share) assert.ok(s >= 60, `per-replica share ${share.join(', ')}`);
    },
  );

  it(
    'rolls out a new image version (start-first) under load with zero failed requests',
    { timeout: 12 * 60_000 },
    async () => {
      const { manifest: v2, out } = await release(
        '1.0.1',
        '--images',
        'loupe',
        // A GPU build whose base image cannot be had is skipped with the reason, not fatal.
        '--gpu',
        '--gpu-base-image',
        `${registry!.address}/no-such-cuda:1`,
      );
      assert.match(out, /skipping loupe-gpu: its base image .*no-such-cuda:1 is not here and cannot be pulled/);
      const next = v2.images[0]!;
      const old = v1.images.find((i) => i.name === 'loupe')!;
      assert.notEqual(next.id, old.id, 'a new version must be a new image for Swarm to roll it');
      assert.notEqual(next.digest, old.digest);
      for (const tag of next.tags) await docker('rmi', tag);
      const image = `${next.repository}:1.0.1@${next.digest}`;
      // One service after the other, as a 2-core node can start only so many tasks at once.
      const { ok, failed, failures } = await underLoad(4, async () => {
        for (const s of ['gateway', 'model', 'worker'])
          await docker('service', 'update', '--detach=false', '--image', image, svc(s));
      });
      assert.equal(failed, 0, failures.join('\n'));
      assert.ok(ok > 50, `only ${ok} requests`);
      // What nginx had to retry on another gateway (LOUPE_SHUTDOWN_DELAY_MS keeps this near 0).
      const { stdout, stderr } = await run('docker', ['service', 'logs', svc('proxy')], { maxBuffer: 64 << 20 });
      const logs = stdout + stderr; // nginx's error log is the container's stderr
      console.log(
        `  rollout: ${ok} requests, ${logs.split('\n').filter((l) => l.includes('connect() failed')).length} upstream connects refused`,
      );
      for (const s of ['gateway', 'model', 'worker']) {
        // The CLI returns once the tasks converged; the update ends after its monitor window.
        let state = '';
        for (const end = Date.now() + 60_000; Date.now() < end && state !== 'completed'; await sleep(1000))
          state = await docker('service', 'inspect', '-f', '{{.UpdateStatus.State}}', svc(s));
        assert.equal(state, 'completed', `${s}: update ${state}, not rolled back or paused`);
        for (const c of await serviceContainers(svc(s))) {
          const labels = JSON.parse(await docker('inspect', '-f', '{{json .Config.Labels}}', c));
          assert.equal(labels['org.opencontainers.image.version'], '1.0.1', `${s} still runs an old task`);
        }
      }
      assert.equal((await serviceContainers(svc('model'))).length, 3);
    },
  );

  it('a killed model task is replaced by Swarm, and no client sees an error', { timeout: 6 * 60_000 }, async () => {
    const [victim] = await serviceContainers(svc('model'));
    const { ok, failed, failures } = await underLoad(4, async () => {
      await docker('kill', victim!);
      await sleep(3000);
    });
    assert.equal(failed, 0, failures.join('\n'));
    assert.ok(ok > 20, `only ${ok} requests`);
    await converged(svc('model'), 3);
    const now = await serviceContainers(svc('model'));
    assert.equal(now.length, 3);
    assert.ok(!now.includes(victim!), 'the killed container is still listed');
  });

  it('restarting the database task with queued jobs loses none', { timeout: 8 * 60_000 }, async () => {
    await docker('service', 'scale', '--detach=false', `${svc('worker')}=0`);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = new FormData();
      for (let k = 0; k < 3; k++) f.append('file', new Blob([fixture('dog-160x120.jpg')]), `${i}-${k}.jpg`);
      const res = await api('/jobs', { method: 'POST', body: f });
      assert.equal(res.status, 202);
      ids.push((await json(res)).id);
    }
    for (const id of ids) assert.equal((await json(await api(`/jobs/${id}`))).status, 'queued');
    const [oldDb] = await serviceContainers(svc('db'));
    await docker('service', 'update', '--detach=false', '--force', svc('db'));
    assert.notEqual((await serviceContainers(svc('db')))[0], oldDb, 'the db task was not replaced');
    await docker('service', 'scale', '--detach=false', `${svc('worker')}=1`);
    for (const id of ids) {
      const j = await waitJob(id);
      assert.equal(j.status, 'completed');
      assert.equal(j.progress.done, 3);
    }
  });
});
