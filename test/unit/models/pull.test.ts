import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHfPreprocessor, labelsFromHfConfig } from '../../../src/models/pull/hf-config.ts';
import { Egress } from '../../../src/models/pull/egress.ts';
import { buildEntry } from '../../../src/models/pull/entry.ts';
import { parseModelUris, parseSource, progressRenderer, PullError } from '../../../src/models/pull/index.ts';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

describe('Hugging Face preprocessor_config.json → model.json', () => {
  it('ConvNext/ResNet crop_pct: Resize(224 / 0.875 = 256) + CenterCrop(224)', () => {
    // microsoft/resnet-50's preprocessor_config.json
    const p = fromHfPreprocessor({
      crop_pct: 0.875,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: IMAGENET_MEAN,
      image_std: IMAGENET_STD,
      image_processor_type: 'ConvNextImageProcessor',
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: 224 },
    });
    assert.deepEqual(p, {
      resize: 'shorter-side-center-crop',
      resize_shorter: 256,
      width: 224,
      height: 224,
      color: 'rgb',
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    });
  });

  it('MobileNet: shortest_edge then crop_size; ViT: a stretch to height × width', () => {
    const mobilenet = fromHfPreprocessor({
      crop_size: { height: 224, width: 224 },
      do_center_crop: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      size: { shortest_edge: 256 },
    });
    assert.equal(mobilenet.resize, 'shorter-side-center-crop');
    assert.equal(mobilenet.resize_shorter, 256);
    assert.equal(mobilenet.width, 224);
    // Older configs write the size as a bare number: the shorter side where the processor crops.
    const legacy = fromHfPreprocessor({
      crop_pct: 0.875,
      size: 224,
      image_mean: IMAGENET_MEAN,
      image_std: IMAGENET_STD,
    });
    assert.deepEqual([legacy.resize, legacy.resize_shorter, legacy.width], ['shorter-side-center-crop', 256, 224]);
    const legacyMobilenet = fromHfPreprocessor({ size: 256, crop_size: 224, image_mean: [0.5], image_std: [0.5] });
    assert.deepEqual([legacyMobilenet.resize_shorter, legacyMobilenet.height], [256, 224]);
    const vit = fromHfPreprocessor({
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      size: { height: 384, width: 384 },
    });
    assert.deepEqual([vit.resize, vit.width, vit.height], ['stretch', 384, 384]);
  });

  it('folds a rescale other than 1/255 into mean/std, and refuses what Loupe cannot do', () => {
    const raw = fromHfPreprocessor({ do_rescale: false, image_mean: [100], image_std: [50], size: 32 });
    assert.deepEqual([raw.resize, raw.width, raw.height], ['stretch', 32, 32]);
    // (p − 100) / 50 == (p/255 − 100/255) / (50/255)
    assert.ok(Math.abs(raw.mean![0]! - 100 / 255) < 1e-9 && Math.abs(raw.std![2]! - 50 / 255) < 1e-9);
    assert.throws(
      () => fromHfPreprocessor({ size: { shortest_edge: 224 }, image_mean: [0], image_std: [1] }),
      (e: Error) => e instanceof PullError && /no fixed size/.test(e.message),
    );
    assert.throws(() => fromHfPreprocessor({ size: { longest_edge: 1333 } }), /size \{"longest_edge":1333\}/);
    assert.throws(() => fromHfPreprocessor({ size: 224, rescale_offset: true }), /rescale_offset/);
  });

  it('labels from id2label only when it covers 0..n-1', () => {
    assert.deepEqual(labelsFromHfConfig({ id2label: { '1': 'goldfish', '0': 'tench' } }), ['tench', 'goldfish']);
    assert.equal(labelsFromHfConfig({ id2label: { '0': 'a', '2': 'c' } }), undefined);
    assert.equal(labelsFromHfConfig({}), undefined);
  });
});

describe('building an entry', () => {
  const graph = {
    inputs: [{ name: 'pixel_values', shape: ['batch', 3, 'height', 'width'], type: 'float32' }],
    outputs: [{ name: 'logits', shape: ['batch', 2], type: 'float32' }],
  };

  it('takes the input name from the graph; flags win over the source; labels are required', () => {
    const hf = { size: { height: 32, width: 32 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] };
    const e = buildEntry(
      graph,
      { hfPreprocessor: hf, hfConfig: { id2label: { 0: 'cat', 1: 'dog' } } },
      { width: 40 },
      'd',
    );
    assert.equal(e.config.input.name, 'pixel_values');
    assert.deepEqual([e.config.input.width, e.config.input.height], [40, 32]);
    assert.deepEqual(e.labels, ['cat', 'dog']);
    assert.match(e.preprocessingFrom, /preprocessor_config\.json \+ flags/);
    assert.throws(() => buildEntry(graph, { hfPreprocessor: hf }, {}, 'd'), /no labels: pass --labels/);
    assert.throws(() => buildEntry(graph, {}, { labels: ['a', 'b'] }, 'd'), /no fixed size/);
    assert.throws(() => buildEntry(graph, {}, { labels: ['a', 'b'], width: 8, height: 8 }, 'd'), /--preset imagenet/);
  });

  it('the imagenet preset gives torchvision preprocessing and the 1000 ImageNet labels', () => {
    const e = buildEntry(graph, {}, { preset: 'imagenet' }, 'd');
    assert.equal(e.labels.length, 1000);
    assert.equal(e.labels[0], 'tench');
    assert.deepEqual(e.config.input.mean, IMAGENET_MEAN);
    assert.equal(e.config.input.resize_shorter, 256);
    assert.throws(() => buildEntry(graph, {}, { preset: 'coco' }, 'd'), /unknown preset "coco"/);
    // Names an object inherits are not presets either.
    assert.throws(() => buildEntry(graph, {}, { preset: 'toString' }, 'd'), /unknown preset "toString"/);
  });
});

describe('sources and LOUPE_MODEL_URIS', () => {
  it('parses schemes, names and fragments; refuses oci:// saying why', () => {
    const hf = parseSource('hf://Xenova/resnet-50@v1.0/onnx/model.onnx#preset=imagenet');
    assert.equal(hf.defaultName, 'resnet-50');
    assert.equal(hf.preset, 'imagenet');
    assert.equal(hf.display, 'hf://Xenova/resnet-50@v1.0/onnx/model.onnx');
    const url = parseSource(`https://example.org/models/resnet50-v2-7.onnx#sha256=${'A'.repeat(64)}`);
    assert.equal(url.defaultName, 'resnet50-v2-7');
    assert.equal(url.sha256, 'a'.repeat(64));
    assert.equal(parseSource('/srv/store/mobilenet/3').defaultName, 'mobilenet');
    assert.throws(() => parseSource('oci://ghcr.io/x/y:1'), /oci:\/\/ sources are not supported: .*oras pull/);
    assert.throws(() => parseSource('s3://bucket/model.onnx'), /unsupported scheme s3/);
    assert.throws(() => parseSource('https://x.org/m.onnx#sha256=abc'), /64 hex digits/);
    assert.throws(() => parseSource('https://x.org/m.onnx#md5=abc'), /unknown "#md5="/);
    assert.throws(() => parseSource('hf://just-a-repo/model.onnx'), /expected hf:\/\/<org>\/<repo>/);
    assert.throws(() => parseSource('hf://org/repo/../x.onnx'), /expected hf:\/\//);
    assert.throws(
      () => parseSource('https://x.org/%E0.onnx'),
      (e: Error) => e instanceof PullError && /malformed/.test(e.message),
    );
    assert.throws(
      () => parseSource('hf://org/repo@%E0/m.onnx'),
      (e: Error) => e instanceof PullError && /malformed/.test(e.message),
    );
  });

  it('LOUPE_MODEL_URIS: name[@version]=source, separated by commas or spaces', () => {
    const uris = parseModelUris('resnet=hf://a/b/model.onnx,  tiny@3=https://h/tiny.onnx\nhttps://h/x/mobilenet.onnx');
    assert.deepEqual(
      uris.map((u) => [u.name, u.version, u.source.display]),
      [
        ['resnet', undefined, 'hf://a/b/model.onnx'],
        ['tiny', 3, 'https://h/tiny.onnx'],
        ['mobilenet', undefined, 'https://h/x/mobilenet.onnx'],
      ],
    );
    assert.throws(() => parseModelUris('x@0=https://h/m.onnx'), /whole numbers from 1 to/);
  });
});

describe('egress rules', () => {
  it('a public source reaches only public addresses', async () => {
    const e = await Egress.forOrigin(new URL('https://8.8.8.8/model.onnx'));
    assert.equal(e.refusal('1.1.1.1'), undefined);
    for (const a of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', '::ffff:192.168.1.1'])
      assert.match(e.refusal(a) ?? '', /is (loopback|private|link-local)/, a);
    await e.close();
  });

  it('a loopback source may also reach loopback, but not the private network', async () => {
    const e = await Egress.forOrigin(new URL('http://127.0.0.1:9/m.onnx'));
    assert.equal(e.refusal('127.0.0.5'), undefined);
    assert.equal(e.refusal('8.8.4.4'), undefined);
    assert.match(e.refusal('10.0.0.1') ?? '', /private/);
    await e.close();
    await assert.rejects(Egress.forOrigin(new URL('http://0.0.0.0/m.onnx')), /unspecified/);
  });
});

describe('progress', () => {
  it('plain lines: bytes, percent, rate and ETA, then a closing line', () => {
    const lines: string[] = [];
    let t = 0;
    const p = progressRenderer({ tty: false, everyMs: 1000, write: (s) => lines.push(s), now: () => t });
    const MiB = 1024 * 1024;
    p({ label: 'model.onnx', done: 0, total: 10 * MiB });
    t = 500;
    p({ label: 'model.onnx', done: MiB, total: 10 * MiB }); // within everyMs: no line
    t = 2000;
    p({ label: 'model.onnx', done: 4 * MiB, total: 10 * MiB });
    t = 4000;
    p({ label: 'model.onnx', done: 10 * MiB, total: 10 * MiB, end: true });
    assert.deepEqual(lines, [
      'model.onnx  4.0 MiB / 10.0 MiB  40%  2.0 MiB/s  ETA 0:03\n',
      'model.onnx  10.0 MiB / 10.0 MiB  done in 0:04  2.5 MiB/s\n',
    ]);
  });

  it('a terminal gets one line redrawn in place, with a bar', () => {
    const out: string[] = [];
    let t = 0;
    const p = progressRenderer({ tty: true, write: (s) => out.push(s), now: () => t });
    p({ label: 'm', done: 0, total: 100 });
    t = 1000;
    p({ label: 'm', done: 50, total: 100 });
    assert.equal(out[0], '\r\x1b[2Km  [##########..........] 50 B / 100 B  50%  50 B/s  ETA 0:01');
  });
});
