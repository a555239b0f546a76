import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../../src/config/index.ts';
import { GrpcServer } from '../../../src/grpc/index.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';
import { grpcOptions, roleAdmission } from '../../../src/roles/options.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';

// Garbage where a protobuf message belongs is the client's fault, as a malformed HTTP body is:
// INVALID_ARGUMENT (HTTP's 400) with Loupe's code, logged as what it was — never INTERNAL from
// grpc-js's own decoder, nor a "cancelled" call in the log.

describe('a malformed gRPC message', () => {
  const lines: Array<Record<string, unknown>> = [];
  let server: GrpcServer;
  before(async () => {
    const config = loadConfig({ LOUPE_GRPC_PORT: '0', HOST: '127.0.0.1', LOUPE_LOG_LEVEL: 'info' });
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    });
    server = new GrpcServer({
      options: grpcOptions(config)!,
      logger: createLogger('info', { destination }),
      metrics: createMetrics(),
      backend: new StubBackend(),
      version: '0.0.0-test',
      admission: roleAdmission(config, { clientLimits: false }),
    });
    await server.start();
  });
  after(() => server.stop());

  const send = (rpc: string, bytes: Buffer) =>
    new Promise<grpc.ServiceError | undefined>((resolve) => {
      const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
      client.makeUnaryRequest(
        `/inference.GRPCInferenceService/${rpc}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err) => {
          client.close();
          resolve(err ?? undefined);
        },
      );
    });

  it('is INVALID_ARGUMENT with BAD_REQUEST, for an upload and for a small RPC, and logged as such', async () => {
    // Field 15 with wire type 7, which protobuf does not have (protobufjs reads a known field
    // leniently, whatever its wire type; an unknown one it must skip, and cannot).
    const truncated = Buffer.from([0x7f, 0x01]);
    for (const rpc of ['ModelInfer', 'ModelMetadata']) {
      const err = await send(rpc, truncated);
      assert.ok(err, `${rpc}: expected an error`);
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${rpc}: ${err.details}`);
      assert.match(err.details, new RegExp(`not a valid ${rpc}Request message`));
      assert.deepEqual(err.metadata.get('x-loupe-error-code'), ['BAD_REQUEST']);
      const logged = lines.find((l) => l.rpc === rpc || l.method === rpc || String(l.msg).includes(rpc));
      assert.ok(logged, `${rpc}: no log line in ${JSON.stringify(lines)}`);
      assert.equal(logged.grpc_code, 'INVALID_ARGUMENT', JSON.stringify(logged));
    }
    // The server still serves.
    const ok = await send('ServerLive', Buffer.alloc(0));
    assert.equal(ok, undefined);
  });
});
