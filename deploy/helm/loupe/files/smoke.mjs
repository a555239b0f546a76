// A prediction through a running Loupe gateway over HTTP and OIP gRPC, exit 1 on any failure.
// Plain JavaScript on purpose: the chart's `helm test` pod runs it inside the Loupe image
// (its own node_modules under /app), and the kind job on GitHub runs it from the checkout
// against a port-forward (LOUPE_APP_DIR=.), so both check the same things.
//   LOUPE_URL=http://host:8000  LOUPE_GRPC=host:8001 (empty: no gRPC)  LOUPE_MODEL=fashion-mnist
//   LOUPE_API_KEY or LOUPE_API_KEYS_FILE (first key with the predict scope)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const app = path.resolve(process.env.LOUPE_APP_DIR || '/app');
const require = createRequire(path.join(app, 'package.json'));
const url = (process.env.LOUPE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const grpcAddress = process.env.LOUPE_GRPC || '';
const model = process.env.LOUPE_MODEL || 'fashion-mnist';
const fail = (msg) => {
  console.error(`smoke: FAIL ${msg}`);
  process.exit(1);
};

function apiKey() {
  if (process.env.LOUPE_API_KEY) return process.env.LOUPE_API_KEY;
  const file = process.env.LOUPE_API_KEYS_FILE;
  if (!file) return '';
  // Lines "<name> <scope,scope> <key>" (LOUPE_API_KEYS_FILE's format).
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [, scopes, key] = line.trim().split(/\s+/);
    if (key && scopes.split(',').includes('predict')) return key;
  }
  fail(`${file} has no key with the predict scope`);
}

const key = apiKey();
const auth = key ? { authorization: `Bearer ${key}` } : {};
// A real encoded picture, made here: the image carries no sample photos.
const sharp = require('sharp');
const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#c84020' } })
  .png()
  .toBuffer();

async function retry(what, fn, tries = 30) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) fail(`${what}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

await retry('GET /readyz', async () => {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`status ${res.status}`);
});

const form = new FormData();
form.append('file', new Blob([png], { type: 'image/png' }), 'smoke.png');
const res = await fetch(`${url}/predict?model=${encodeURIComponent(model)}`, {
  method: 'POST',
  headers: auth,
  body: form,
  signal: AbortSignal.timeout(30_000),
});
const body = await res.json().catch(() => ({}));
if (res.status !== 200) fail(`POST /predict: ${res.status} ${JSON.stringify(body)}`);
if (body.model?.name !== model || !(body.predictions?.length > 0))
  fail(`POST /predict answered ${JSON.stringify(body)}`);
console.log(`smoke: HTTP /predict ${model} -> ${body.predictions[0].label} (${body.predictions[0].score})`);

if (grpcAddress) {
  const grpc = require('@grpc/grpc-js');
  const loader = require('@grpc/proto-loader');
  const proto = path.join(app, 'proto/kserve/grpc_predict_v2.proto');
  const def = loader.loadSync(proto, {
    keepCase: true,
    longs: Number,
    defaults: true,
    includeDirs: [path.dirname(proto)],
  });
  const Service = grpc.loadPackageDefinition(def).inference.GRPCInferenceService;
  const client = new Service(grpcAddress, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (key) md.set('authorization', `Bearer ${key}`);
  const call = (method, req) =>
    new Promise((resolve, reject) =>
      client[method](req, md, { deadline: Date.now() + 30_000 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
  const ready = await retry('gRPC ServerReady', () => call('ServerReady', {}));
  if (!ready.ready) fail('gRPC ServerReady: not ready');
  // One BYTES element: a 4-byte little-endian length, then the encoded image.
  const element = Buffer.alloc(4 + png.length);
  element.writeUInt32LE(png.length, 0);
  png.copy(element, 4);
  const out = await call('ModelInfer', {
    model_name: model,
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
    raw_input_contents: [element],
  }).catch((err) => fail(`gRPC ModelInfer: ${err.details ?? err.message}`));
  if (out.model_name !== model || !(out.outputs?.length > 0)) fail(`gRPC ModelInfer answered ${JSON.stringify(out)}`);
  console.log(`smoke: gRPC ModelInfer ${model} -> outputs ${out.outputs.map((o) => o.name).join(', ')}`);
  client.close();
}
console.log('smoke: ok');
