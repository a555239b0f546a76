import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { INFER_EXAMPLE } from '../../src/http/routes/v2/examples.ts';
import { fixture } from '../helpers/fixtures.ts';
import { ROOT } from '../helpers/browser.ts';
import { form, json, startServe, type TestServer } from '../helpers/server.ts';

const MODEL_DIR = path.join(ROOT, 'model-store', 'fashion-mnist');
const PHOTO = fixture('dog-160x120.jpg');

/** A 1200×900 grayscale "photo": dark, noisy, no colour — only its size is far from 28×28. */
const bigGray = () => {
  const px = Buffer.alloc(1200 * 900);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 61;
  return sharp(px, { raw: { width: 1200, height: 900, channels: 1 } })
    .jpeg()
    .toBuffer();
};

const predict = async (url: string, bytes: Uint8Array, name = 'image.bin', fields: Record<string, string> = {}) => {
  const res = await fetch(`${url}/predict`, { method: 'POST', body: form(bytes, name, fields) });
  return { status: res.status, body: await json(res) };
};

/** What a newcomer meets first: the default model's card, its samples, honest warnings. */
describe('the first five minutes (serve, bundled model)', { timeout: 120_000 }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServe();
  });
  after(() => srv?.stop());

  it('GET /models shows the model card: what it was trained on, measured accuracy, labels, samples', async () => {
    const { models } = await json(await fetch(`${srv.url}/models`));
    assert.equal(models.length, 1);
    const m = models[0];
    assert.equal(m.default, true);
    assert.match(m.description, /Fashion-MNIST/);
    assert.match(m.card.trained_on, /28×28 grayscale/);
    assert.match(m.card.intended_use, /meaningless/);
    const metrics = JSON.parse(readFileSync(path.join(MODEL_DIR, '1', 'metrics.json'), 'utf8'));
    assert.deepEqual(m.card.accuracy, { top1: 0.9311, test_images: metrics.test_images, dataset: 'fashion-mnist' });
    assert.equal(Math.round(metrics.test_accuracy * 10000) / 10000, m.card.accuracy.top1);
    assert.deepEqual(m.labels, readFileSync(path.join(MODEL_DIR, 'labels.txt'), 'utf8').trim().split('\n'));
    assert.equal(m.preprocessing.background, 'dark');
    assert.ok(m.card.samples.length >= 4, JSON.stringify(m.card.samples));
    const one = await json(await fetch(`${srv.url}/models/fashion-mnist`));
    assert.deepEqual(one.card, m.card);
  });

  it('serves each sample image, and the model labels each as the class it is named after, without warnings', async () => {
    const { models } = await json(await fetch(`${srv.url}/models`));
    for (const s of models[0].card.samples as Array<{ name: string; url: string }>) {
      const res = await fetch(`${srv.url}${s.url}`);
      assert.equal(res.status, 200, s.url);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual(Buffer.from(bytes), readFileSync(path.join(MODEL_DIR, 'samples', s.name)));
      const { status, body } = await predict(srv.url, bytes, s.name);
      assert.equal(status, 200);
      const slug = body.predictions[0].label.toLowerCase().replace(/[^a-z]+/g, '-');
      assert.equal(`${slug}.png`, s.name, `${s.name} is classified as ${body.predictions[0].label}`);
      assert.deepEqual(body.warnings, []);
    }
  });

  it('refuses sample names the card does not list (404) and anything path-like (400)', async () => {
    const missing = await fetch(`${srv.url}/models/fashion-mnist/samples/nothing.png`);
    assert.equal(missing.status, 404);
    assert.equal((await json(missing)).error.code, 'NOT_FOUND');
    for (const bad of ['..%2Fmodel.json', 'model.json', '.hidden.png']) {
      const res = await fetch(`${srv.url}/models/fashion-mnist/samples/${bad}`);
      assert.equal(res.status, 400, bad);
    }
    assert.equal((await fetch(`${srv.url}/models/nope/samples/bag.png`)).status, 404);
  });

  it('a colour photo gets a COLOR_IMAGE warning in words; a large grayscale image LARGE_IMAGE', async () => {
    const photo = await predict(srv.url, PHOTO, 'dog.jpg');
    assert.equal(photo.status, 200);
    const codes = photo.body.warnings.map((w: { code: string }) => w.code);
    assert.ok(codes.includes('COLOR_IMAGE'), JSON.stringify(photo.body.warnings));
    assert.match(photo.body.warnings[0].message, /colour; this model was trained on grayscale images/);
    const big = await predict(srv.url, await bigGray(), 'big.jpg');
    assert.deepEqual(
      big.body.warnings.map((w: { code: string }) => w.code),
      ['LARGE_IMAGE'],
    );
    assert.match(big.body.warnings[0].message, /1200×900; this model looks at 28×28, so it sees it 32 times smaller/);
  });

  it('OIP infer carries the warnings as parameters.loupe_warnings, per image of the batch', async () => {
    const body = {
      inputs: [
        {
          name: 'image',
          shape: [2],
          datatype: 'BYTES',
          data: [INFER_EXAMPLE.inputs[0]!.data[0], PHOTO.toString('base64')],
        },
      ],
      outputs: [{ name: 'logits', parameters: { classification: 1 } }],
    };
    const res = await fetch(`${srv.url}/v2/models/fashion-mnist/infer`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    const out = await json(res);
    const warnings = JSON.parse(out.parameters.loupe_warnings);
    assert.ok(warnings.length >= 1);
    assert.ok(
      warnings.every((w: { image: number }) => w.image === 1),
      'only the photo (element 1) is far off',
    );
    assert.equal(warnings[0].code, 'COLOR_IMAGE');
    const example = await fetch(`${srv.url}/v2/models/fashion-mnist/infer`, {
      method: 'POST',
      body: JSON.stringify(INFER_EXAMPLE),
    });
    const ex = await json(example);
    assert.equal(example.status, 200, JSON.stringify(ex));
    assert.equal(ex.parameters.loupe_warnings, undefined, 'no warnings: no parameter');
    assert.match(ex.outputs[0].data[0], /:9:Ankle boot$/);
  });

  it('a job result carries the warnings of its image', async () => {
    const f = new FormData();
    f.append('file', new Blob([PHOTO]), 'dog.jpg');
    const res = await fetch(`${srv.url}/jobs`, { method: 'POST', body: f });
    assert.equal(res.status, 202);
    const { status_url } = await json(res);
    let job;
    for (let i = 0; i < 200; i++, await sleep(50)) {
      job = await json(await fetch(`${srv.url}${status_url}`));
      if (job.status === 'completed') break;
    }
    assert.equal(job.status, 'completed');
    assert.equal(job.items[0].result.warnings[0].code, 'COLOR_IMAGE');
  });
});
