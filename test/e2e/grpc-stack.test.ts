import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/index.ts';
import { StartupError } from '../../src/errors.ts';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { openStorage, type Storage } from '../../src/roles/common.ts';
import { GatewayRole } from '../../src/roles/gateway.ts';
import { ModelServerRole } from '../../src/roles/model-server.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir } from '../helpers/server.ts';

const logger = createLogger('silent', { pretty: false });
const config = (env: Record<string, string>) =>
  loadConfig({ HOST: '127.0.0.1', PORT: '0', LOUPE_GRPC_PORT: '0', LOUPE_LOG_LEVEL: 'silent', ...env });
const f32 = (b: Uint8Array) => Array.from(new Float32Array(Uint8Array.from(b).buffer));

// The gateway's gRPC API over its RemoteBackend: the same RPCs, answered by the model servers
// behind it (over OIP HTTP), with their errors passed through by code.
describe('gRPC on the gateway, in front of model servers', () => {
  const store = tempDir('loupe-grpc-stack-');
  const base = { LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'colors', LOUPE_DATA_DIR: 'memory://' };
  let model: ModelServerRole;
  let gateway: GatewayRole;
  let storage: Storage;
  let viaGateway: TestGrpcClient;
  let direct: TestGrpcClient;

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    model = new ModelServerRole({ config: config(base), logger, version: 't' });
    await model.start();
    storage = await openStorage(config(base), logger, { migrate: true, supervise: false });
    const env = { ...base, LOUPE_MODEL_SERVER_URL: model.address };
    gateway = new GatewayRole({ config: config(env), logger, version: 't', storage });
    await gateway.start();
    viaGateway = grpcClient(gateway.grpcAddress);
    direct = grpcClient(model.grpcAddress, 'kserve');
  });
  after(async () => {
    viaGateway?.close();
    direct?.close();
    await gateway?.stop();
    await model?.stop();
    await storage?.close();
  });

  const imageRequest = (images: Buffer[], extra: object = {}) => ({
    model_name: 'colors',
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [images.length] }],
    raw_input_contents: [encodeBytesElements(images)],
    ...extra,
  });

  it('serves gRPC on the gateway and on the model server, each on its own port', async () => {
    assert.notEqual(gateway.grpcAddress, '');
    assert.notEqual(model.grpcAddress, '');
    assert.deepEqual((await viaGateway.call('ServerReady', {})).response, { ready: true });
    assert.deepEqual((await direct.call('ServerLive', {})).response, { live: true });
  });

  it('ModelInfer through the gateway gives what the model server gives, and what HTTP gives', async () => {
    const images = [fixture('dog-160x120.jpg'), fixture('dog-160x120.png')];
    const a = await viaGateway.call('ModelInfer', imageRequest(images, { id: 'through' }));
    assert.equal(a.error, undefined, a.error?.details);
    const b = await direct.call('ModelInfer', imageRequest(images));
    assert.equal(a.response.id, 'through');
    assert.deepEqual(a.response.outputs, b.response.outputs);
    assert.deepEqual(f32(a.response.raw_output_contents[0]), f32(b.response.raw_output_contents[0]));
    const http = await json(
      await fetch(`${gateway.address}/v2/models/colors/infer`, {
        method: 'POST',
        body: JSON.stringify({
          inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: images.map((i) => i.toString('base64')) }],
        }),
      }),
    );
    assert.deepEqual(f32(a.response.raw_output_contents[0]), http.outputs[0].data);
  });

  it("a model server's refusal comes through the gateway with its own code", async () => {
    const bad = await viaGateway.call('ModelInfer', imageRequest([Buffer.from('not an image')]));
    assert.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT, bad.error?.details);
    assert.deepEqual(bad.trailers?.get('x-loupe-error-code'), ['INVALID_IMAGE']);
    const missing = await viaGateway.call('ModelInfer', {
      ...imageRequest([fixture('dog-160x120.png')]),
      model_name: 'x',
    });
    assert.equal(missing.error?.code, grpc.status.NOT_FOUND);
  });

  it('ModelStreamInfer through the gateway: each message forwarded over the same backend, errors in error_message', async () => {
    const images = [fixture('dog-160x120.jpg')];
    const call = viaGateway.stream<
      object,
      { error_message?: string; infer_response?: { id: string; raw_output_contents: Buffer[] } }
    >('ModelStreamInfer');
    const got: Array<{ error_message?: string; infer_response?: { id: string; raw_output_contents: Buffer[] } }> = [];
    call.on('data', (r: (typeof got)[number]) => got.push(r));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.write(imageRequest(images, { id: 'gw-1' }));
    call.write(imageRequest([Buffer.from('not an image')], { id: 'gw-bad' }));
    call.write(imageRequest(images, { id: 'gw-2' }));
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(got.length, 3);
    const b = await direct.call('ModelInfer', imageRequest(images));
    const ok = got.filter((r) => r.infer_response).map((r) => r.infer_response!);
    assert.deepEqual(ok.map((r) => r.id).sort(), ['gw-1', 'gw-2']);
    for (const r of ok) assert.deepEqual(f32(r.raw_output_contents[0]!), f32(b.response.raw_output_contents[0]));
    const bad = got.find((r) => r.error_message)?.error_message ?? '';
    assert.match(bad, /^INVALID_IMAGE: .*\(request id gw-bad\)$/);
  });

  it('metadata, configuration, statistics and the repository index through the gateway', async () => {
    const meta = await viaGateway.call('ModelMetadata', { name: 'colors' });
    assert.deepEqual(meta.response, (await direct.call('ModelMetadata', { name: 'colors' })).response);
    const config = await viaGateway.call('ModelConfig', { name: 'colors' });
    assert.deepEqual(config.response.config.input[0].dims, [3, 16, 16]);
    const stats = await viaGateway.call('ModelStatistics', { name: 'colors' });
    assert.ok(stats.response.model_stats[0].inference_count >= 2, JSON.stringify(stats.response));
    const index = await viaGateway.call('RepositoryIndex', {});
    assert.deepEqual(index.response, { models: [{ name: 'colors', version: '1', state: 'READY' }] });
  });
});

describe('gRPC lifecycle', () => {
  it('a gRPC port that is taken stops the start with one clear line', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    const store = tempDir('loupe-grpc-taken-');
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 2 });
    try {
      await assert.rejects(
        startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'm', LOUPE_GRPC_PORT: String(port) }),
        (err: Error) =>
          err instanceof StartupError &&
          err.message ===
            `gRPC cannot listen on 127.0.0.1:${port} (EADDRINUSE); set LOUPE_GRPC_PORT to a free port, or off`,
      );
    } finally {
      taken.close();
    }
  });

  it('stop drains: a call in flight is answered, a call after stop is refused; start and stop are idempotent', async () => {
    const store = tempDir('loupe-grpc-drain-');
    // A lone request waits the whole queue delay for company: it is in flight when stop comes.
    writeStoreModel(store, {
      name: 'slow',
      channels: 1,
      height: 4,
      width: 4,
      classes: 2,
      batching: { max_batch_size: 8, max_queue_delay_ms: 800 },
    });
    const srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'slow' });
    const address = srv.role.grpcAddress;
    const client = grpcClient(address);
    try {
      const request = {
        model_name: 'slow',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4, 4] }],
        raw_input_contents: [Buffer.alloc(64)],
      };
      const warm = await client.call('ModelInfer', request);
      assert.equal(warm.error, undefined, warm.error?.details);
      const inFlight = client.call('ModelInfer', request);
      await new Promise((r) => setTimeout(r, 200));
      const stopping = srv.stop();
      const again = srv.stop();
      const answered = await inFlight;
      assert.equal(answered.error, undefined, answered.error?.details);
      assert.equal(answered.response.outputs[0].shape.join(), '1,2');
      await Promise.all([stopping, again]);
      const late = grpcClient(address);
      const refused = await late.call('ServerLive', {});
      late.close();
      assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
    } finally {
      client.close();
      await srv.stop();
    }
  });
});
