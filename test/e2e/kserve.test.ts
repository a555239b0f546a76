import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { freePort } from '../helpers/docker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { json, tempDir } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const ISVC = 'fashion-mnist-isvc';

interface RuntimeContainer {
  name: string;
  args: string[];
  env?: { name: string; value: string }[];
  ports: { containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: number } };
}

/**
 * The runtime's container as KServe would start it: `{{.Name}}` filled in, /mnt/models mapped
 * to `mnt`, and its ports 8080/9000 (which the unit test checks) moved to free ones, so that
 * nothing else on the machine listening there can fail or fool this test.
 */
function kserveContainer(mnt: string, ports: { http: number; grpc: number }): RuntimeContainer {
  const runtime = parse(readFileSync(path.join(ROOT, 'deploy/kserve/cluster-serving-runtime.yaml'), 'utf8'));
  const [c] = runtime.spec.containers as RuntimeContainer[];
  assert.equal(c!.name, 'kserve-container');
  assert.ok(c!.args.includes('--port=8080') && c!.args.includes('--grpc-port=9000'), c!.args.join(' '));
  const args = c!.args.map((a) =>
    a
      .replaceAll('{{.Name}}', ISVC)
      .replaceAll('/mnt/models', mnt)
      .replace(/^--port=8080$/, `--port=${ports.http}`)
      .replace(/^--grpc-port=9000$/, `--grpc-port=${ports.grpc}`),
  );
  return { ...c!, args };
}

// `loupe model-server` started exactly as the ClusterServingRuntime says, on a directory laid
// out as KServe's storage initializer leaves /mnt/models: one model's files (the bundled
// fashion-mnist: model.json, labels.txt, 1/model.onnx), no <name>/ folder around them.
describe('KServe: loupe model-server under the ClusterServingRuntime', () => {
  let child: ChildProcess | undefined;
  let logs = '';
  const mnt = tempDir('loupe-mnt-models-');
  let container: RuntimeContainer;
  let ports: { http: number; grpc: number };
  let http: string;

  before(async () => {
    ports = { http: await freePort(), grpc: await freePort() };
    while (ports.grpc === ports.http) ports.grpc = await freePort();
    container = kserveContainer(mnt, ports);
    http = `http://127.0.0.1:${ports.http}`;
    cpSync(path.join(ROOT, 'model-store/fashion-mnist'), mnt, { recursive: true });
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      // What the image's ENV sets (the flags must win over it), bound to loopback for the test.
      HOST: '127.0.0.1',
      PORT: '8000',
      LOUPE_MODEL_STORE: '/models',
      LOUPE_DEFAULT_MODEL: 'fashion-mnist',
      ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])),
    };
    child = spawn(process.execPath, [MAIN, ...container.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`model-server exited ${child.exitCode}: ${logs}`);
      const ok = await fetch(`${http}${container.readinessProbe.httpGet.path}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`not ready in 60 s: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const proc = child;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it('is ready on the runtime probe, HTTP on --port, with the model under the InferenceService name', async () => {
    assert.equal(container.readinessProbe.httpGet.port, container.ports[0]!.containerPort);
    assert.deepEqual(await json(await fetch(`${http}/v2/health/ready`)), { ready: true });
    assert.equal((await fetch(`${http}/v2/models/${ISVC}/ready`)).status, 200);
    const meta = await json(await fetch(`${http}/v2/models/${ISVC}`));
    assert.equal(meta.name, ISVC);
    assert.deepEqual(meta.versions, ['1']);
  });

  it('answers a real v2 infer with fashion-mnist labels', async () => {
    const img = fixture('gray-40x30.png').toString('base64');
    const res = await fetch(`${http}/v2/models/${ISVC}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [img] }],
        outputs: [{ name: 'logits', parameters: { classification: 3 } }],
      }),
    });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model_name, ISVC);
    const labels = readFileSync(path.join(mnt, 'labels.txt'), 'utf8').trim().split('\n');
    assert.equal(body.outputs[0].data.length, 3);
    for (const s of body.outputs[0].data as string[]) assert.ok(labels.includes(s.split(':').slice(2).join(':')), s);
  });

  it('serves OIP gRPC on --grpc-port', async () => {
    assert.ok(container.args.includes(`--grpc-port=${ports.grpc}`));
    const client = grpcClient(`127.0.0.1:${ports.grpc}`, 'kserve');
    try {
      const r = await client.call('ModelReady', { name: ISVC });
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.response.ready, true);
    } finally {
      client.close();
    }
  });
});
