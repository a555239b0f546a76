import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../src/errors.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { capturingLogger, grpcOutcome, httpOutcome, parity, type Parity } from '../helpers/parity.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

/**
 * Transport parity for model control: a load/unload refused over HTTP and the same over gRPC
 * (RepositoryModelLoad/Unload) answer with the same code, each transport's status from the one
 * map, the same message, one log line and one count each (test/helpers/parity.ts).
 */
interface Case {
  readonly name: string;
  readonly op: 'load' | 'unload';
  readonly model: string;
  /** As both carry them: the HTTP body's `parameters`, gRPC ModelRepositoryParameter string values. */
  readonly parameters?: Record<string, string>;
  readonly code: ErrorCode;
  readonly message: RegExp;
}

const EXPLICIT: Case[] = [
  {
    name: 'load of a model the store does not have',
    op: 'load',
    model: 'nope',
    code: 'MODEL_NOT_FOUND',
    message: /failed to poll from model repository/,
  },
  {
    name: 'unload of a model the server does not know',
    op: 'unload',
    model: 'nope',
    code: 'MODEL_NOT_FOUND',
    message: /failed to unload "nope"/,
  },
  {
    name: 'load of a 129-character name',
    op: 'load',
    model: 'x'.repeat(129),
    code: 'BAD_REQUEST',
    message: /over 128 characters/,
  },
  {
    name: 'a config field Loupe cannot honour',
    op: 'load',
    model: 'tiny',
    parameters: { config: '{"instance_group": []}' },
    code: 'BAD_REQUEST',
    message: /"instance_group" cannot be honoured/,
  },
  {
    name: 'a config that is not JSON',
    op: 'load',
    model: 'tiny',
    parameters: { config: '{' },
    code: 'BAD_REQUEST',
    message: /not valid JSON/,
  },
  {
    name: 'model files in the request',
    op: 'load',
    model: 'tiny',
    parameters: { 'file:1/model.onnx': 'AAAA' },
    code: 'BAD_REQUEST',
    message: /no model files over the API/,
  },
  {
    name: 'an unload parameter other than unload_dependents',
    op: 'unload',
    model: 'tiny',
    parameters: { config: '{}' },
    code: 'BAD_REQUEST',
    message: /not supported by unload/,
  },
];

const POLL: Case[] = [
  {
    name: 'load while the server polls its store',
    op: 'load',
    model: 'tiny',
    code: 'MODEL_CONTROL_DISABLED',
    message: /LOUPE_MODEL_CONTROL is poll/,
  },
  {
    name: 'unload while the server polls its store',
    op: 'unload',
    model: 'tiny',
    code: 'MODEL_CONTROL_DISABLED',
    message: /LOUPE_MODEL_CONTROL is poll/,
  },
  // The mode is checked before the parameters are read, as Triton does: not a 400 about the config.
  {
    name: 'load with a config that is not JSON while the server polls',
    op: 'load',
    model: 'tiny',
    parameters: { config: '{' },
    code: 'MODEL_CONTROL_DISABLED',
    message: /LOUPE_MODEL_CONTROL is poll/,
  },
  {
    name: 'unload with a parameter it does not take while the server polls',
    op: 'unload',
    model: 'tiny',
    parameters: { config: '{}' },
    code: 'MODEL_CONTROL_DISABLED',
    message: /LOUPE_MODEL_CONTROL is poll/,
  },
];

for (const [mode, cases] of [
  ['explicit', EXPLICIT],
  ['poll', POLL],
] as const) {
  describe(`model control refusals, HTTP and gRPC alike (${mode})`, { timeout: 60_000 }, () => {
    let srv: TestServer;
    let client: TestGrpcClient;
    let both: Parity['both'];

    before(async () => {
      const store = tempDir('loupe-parity-control-');
      writeStoreModel(store, { name: 'tiny', channels: 1, height: 2, width: 2, classes: 3 });
      const log = capturingLogger();
      srv = await startServe(
        { LOUPE_AUTH: 'off', LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'tiny', LOUPE_MODEL_CONTROL: mode },
        {},
        { logger: log.logger },
      );
      client = grpcClient(srv.role.grpcAddress);
      ({ both } = parity(srv, log.lines));
    });
    after(async () => {
      client?.close();
      await srv?.stop();
    });

    for (const c of cases) {
      it(c.name, async () => {
        const method = c.op === 'load' ? 'RepositoryModelLoad' : 'RepositoryModelUnload';
        const grpcParameters = Object.fromEntries(
          Object.entries(c.parameters ?? {}).map(([k, v]) => [k, { string_param: v }]),
        );
        const { h } = await both(
          c.name,
          c.code,
          (id) =>
            httpOutcome(`${srv.url}/v2/repository/models/${encodeURIComponent(c.model)}/${c.op}`, {
              method: 'POST',
              headers: { 'x-request-id': id },
              body: JSON.stringify(c.parameters ? { parameters: c.parameters } : {}),
            }),
          (id) =>
            grpcOutcome(client, method, { model_name: c.model, parameters: grpcParameters }, { 'x-request-id': id }),
          `/v2/repository/models/:model/${c.op}`,
          { method },
        );
        assert.match(h.message!, c.message);
      });
    }
  });
}
