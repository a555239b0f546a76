import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { preprocess, type PreprocessSpec } from '../../../src/images/index.ts';
import { fixture } from '../../helpers/fixtures.ts';

const FASHION: PreprocessSpec = {
  color: 'grayscale',
  width: 28,
  height: 28,
  resize: 'shorter-side-center-crop',
  resize_shorter: 28,
  mean: [0.286],
  std: [0.353],
  background: 'dark',
};
const IMAGENET: PreprocessSpec = {
  color: 'rgb',
  width: 224,
  height: 224,
  resize: 'shorter-side-center-crop',
  resize_shorter: 256,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
const limits = { maxPixels: 40_000_000 };
const codes = async (bytes: Buffer, spec: PreprocessSpec) =>
  (await preprocess(bytes, spec, limits)).warnings.map((w) => w.code);

/** w×h, `channels` channels, each pixel from `px(x, y)`, as PNG or JPEG. */
function image(w: number, h: number, channels: 1 | 3, px: (x: number, y: number) => number[], jpeg = false) {
  const data = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) px(x, y).forEach((v, c) => (data[(y * w + x) * channels + c] = v));
  const s = sharp(data, { raw: { width: w, height: h, channels } });
  return (jpeg ? s.jpeg() : s.png()).toBuffer();
}
/** A light object in the middle of a black square, as Fashion-MNIST draws them. */
const centred = (x: number, y: number, w: number) =>
  Math.abs(x - w / 2) < w / 4 && Math.abs(y - w / 2) < w / 4 ? 220 : 0;

describe('out-of-domain warnings (the model input spec against the upload)', () => {
  it('nothing to say about an image like the training data', async () => {
    assert.deepEqual(await codes(await image(28, 28, 1, (x, y) => [centred(x, y, 28)]), FASHION), []);
  });

  it('a colour photo into a grayscale model: COLOR_IMAGE (and its light background)', async () => {
    assert.deepEqual(await codes(fixture('dog-160x120.jpg'), FASHION), ['COLOR_IMAGE', 'LIGHT_BACKGROUND']);
  });

  it('a gray image stored as RGB JPEG is not colour', async () => {
    const gray = await image(120, 120, 3, (x, y) => Array(3).fill(centred(x, y, 120)), true);
    assert.deepEqual(await codes(gray, FASHION), []);
  });

  it('a light background into a model trained on dark ones: LIGHT_BACKGROUND', async () => {
    const onWhite = await image(28, 28, 1, (x, y) => [255 - centred(x, y, 28)]);
    assert.deepEqual(await codes(onWhite, FASHION), ['LIGHT_BACKGROUND']);
    assert.deepEqual(await codes(onWhite, { ...FASHION, background: undefined }), [], 'undeclared: not checked');
  });

  it('LARGE_IMAGE past 32× shrink: a 1000 px image into 28 px, but not a phone photo into 224 px', async () => {
    const big = await image(1000, 950, 1, (x, y) => [centred(x, y, 950)], true);
    const out = await preprocess(big, FASHION, limits);
    assert.deepEqual(
      out.warnings.map((w) => w.code),
      ['LARGE_IMAGE'],
    );
    assert.match(out.warnings[0]!.message, /1000×950; this model looks at 28×28, so it sees it 34 times smaller/);
    const phone = await image(4000, 3000, 3, (x, y) => [x % 256, y % 256, (x + y) % 256], true);
    assert.deepEqual(await codes(phone, IMAGENET), [], 'an RGB model has no colour or background to warn about');
  });
});
