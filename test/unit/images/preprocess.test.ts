import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { preprocess, type PreprocessSpec } from '../../../src/images/index.ts';
import { LoupeError } from '../../../src/errors.ts';
import { diff, fixture, fixtureTensor } from '../../helpers/fixtures.ts';

const RGB: PreprocessSpec = {
  color: 'rgb',
  width: 32,
  height: 32,
  resize: 'shorter-side-center-crop',
  resize_shorter: 36,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
const GRAY: PreprocessSpec = { color: 'grayscale', width: 28, height: 28, resize: 'stretch', mean: [0.5], std: [0.25] };
const limits = { maxPixels: 40_000_000 };

// The reference tensors were made once by torchvision + PIL (test/fixtures/make_fixtures.py).
// libvips and PIL resample slightly differently and decode JPEG with different IDCTs, so the
// bound is on the mean difference (a wrong crop, channel order or normalisation is off by ~1).
describe('preprocess matches torchvision', () => {
  for (const name of ['dog-160x120.png', 'dog-160x120.jpg', 'dog-orient6.jpg', 'dog-rgba.png']) {
    it(`Resize(36) + CenterCrop(32) + Normalize on ${name}`, async () => {
      const ref = fixtureTensor(name);
      const out = await preprocess(fixture(name), RGB, limits);
      assert.deepEqual(ref.shape, [3, 32, 32]);
      const d = diff(out.tensor, ref.data);
      assert.ok(d.mean < 0.05, `mean abs diff ${d.mean}`);
      assert.ok(d.max < 0.4, `max abs diff ${d.max}`);
    });
  }

  it('grayscale stretch to 28×28', async () => {
    const ref = fixtureTensor('gray-40x30.png');
    const out = await preprocess(fixture('gray-40x30.png'), GRAY, limits);
    const d = diff(out.tensor, ref.data);
    assert.ok(d.mean < 0.05, `mean abs diff ${d.mean}`);
  });

  it('applies EXIF orientation before cropping', async () => {
    const upright = await preprocess(fixture('dog-160x120.jpg'), RGB, limits);
    const rotated = await preprocess(fixture('dog-orient6.jpg'), RGB, limits);
    assert.equal(rotated.width, 160);
    assert.equal(rotated.height, 120);
    assert.ok(diff(upright.tensor, rotated.tensor).mean < 0.05);
  });

  it('is exact where no resampling happens (28×28 grayscale PNG)', async () => {
    const pixels = Buffer.from(Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256));
    const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const out = await preprocess(png, { ...GRAY, resize: 'shorter-side-center-crop', resize_shorter: 28 }, limits);
    const expected = Array.from(pixels, (v) => (v / 255 - 0.5) / 0.25);
    assert.ok(diff(out.tensor, expected).max < 1e-5);
  });
});

describe('preprocess refuses bad input', () => {
  const code = async (bytes: Uint8Array, spec = RGB, lim = limits) => {
    try {
      await preprocess(bytes, spec, lim);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof LoupeError, String(err));
      return err.code;
    }
  };
  it('empty, garbage, truncated, SVG, BMP, pixel bombs', async () => {
    assert.equal(await code(Buffer.alloc(0)), 'EMPTY_BODY');
    assert.equal(await code(Buffer.from('hello, not an image')), 'INVALID_IMAGE');
    const jpg = fixture('dog-160x120.jpg');
    assert.equal(await code(jpg.subarray(0, jpg.length / 2)), 'INVALID_IMAGE');
    const png = fixture('dog-160x120.png');
    assert.equal(await code(png.subarray(0, png.length / 2)), 'INVALID_IMAGE');
    assert.equal(
      await code(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.equal(await code(Buffer.from('BM\0\0\0\0')), 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(await code(jpg, RGB, { maxPixels: 1000 }), 'IMAGE_TOO_LARGE');
  });
  it('a PNG whose header claims 100k × 100k pixels is refused before decoding', async () => {
    const bomb = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    bomb.writeUInt32BE(100_000, 16); // IHDR width
    bomb.writeUInt32BE(100_000, 20); // IHDR height
    assert.equal(await code(bomb), 'IMAGE_TOO_LARGE');
  });
});
