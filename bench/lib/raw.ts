import ort from 'onnxruntime-node';
import { preprocess, type PreprocessSpec } from '../../src/images/index.ts';

export interface RawResult {
  readonly imagesPerSecond: number;
  readonly msPerCall: number;
  readonly calls: number;
}

/** I: bare ONNX Runtime on ready tensors, same thread budget as the server, fixed batch. */
export async function rawInference(
  onnxPath: string,
  inputName: string,
  chw: number[],
  batch: number,
  threads: number,
  seconds: number,
  providers: string[] = ['cpu'],
): Promise<RawResult> {
  const session = await ort.InferenceSession.create(onnxPath, {
    executionProviders: providers,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const size = chw.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: batch * size }, (_, i) => Math.sin(i));
  const feeds = { [inputName]: new ort.Tensor('float32', data, [batch, ...chw]) };
  for (let i = 0; i < 3; i++) await session.run(feeds); // warm-up
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    calls++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await session.release();
  return { imagesPerSecond: (calls * batch) / elapsed, msPerCall: (elapsed * 1000) / calls, calls };
}

/** P: bare decode + resize + normalize (Loupe's own image path, no HTTP) at full concurrency. */
export async function rawPreprocess(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  concurrency: number,
  seconds: number,
): Promise<RawResult & { msSingle: number }> {
  const limits = { maxPixels: 100_000_000 };
  for (let i = 0; i < 3; i++) await preprocess(bytes, spec, limits);
  let single = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await preprocess(bytes, spec, limits);
    single = Math.min(single, performance.now() - t);
  }
  let calls = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() - start < seconds * 1000) {
      await preprocess(bytes, spec, limits);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  return { imagesPerSecond: calls / elapsed, msPerCall: (elapsed * 1000) / calls, calls, msSingle: single };
}
