// Runs inside an inference thread: one ONNX Runtime session, fed batches by the main thread
// through ThreadSession (thread-session.ts).
// onnxruntime-node's run() is synchronous on whatever thread calls it; running it here keeps
// the main event loop free for HTTP and image decoding while a batch computes.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { createSession, type SessionOptions } from './session.ts';

interface Init {
  onnxPath: string;
  opts: SessionOptions;
  variants: Record<string, string>;
  inputName: string;
  outputName?: string | undefined;
}
interface RunMsg {
  id: number;
  data: ArrayBuffer;
  dims: number[];
}

const init = workerData as Init;
const port = parentPort!;
const fallbacks: Array<{ provider: string; error: string }> = [];

try {
  const loaded = await createSession(
    init.onnxPath,
    init.opts,
    (provider, err) => fallbacks.push({ provider, error: err.message.split('\n')[0]! }),
    init.variants,
  );
  const outputName = init.outputName ?? loaded.outputs[0]?.name ?? '';
  port.postMessage({
    type: 'ready',
    provider: loaded.provider,
    file: loaded.file,
    optimized: loaded.optimized,
    inputs: loaded.inputs,
    outputs: loaded.outputs,
    fallbacks,
  });
  port.on('message', (msg: RunMsg | { type: 'release' }) => {
    if ('type' in msg) {
      void loaded.session.release().finally(() => port.close());
      return;
    }
    void (async () => {
      try {
        const started = performance.now();
        const out = await loaded.session.run({
          [init.inputName]: new ort.Tensor('float32', new Float32Array(msg.data), msg.dims),
        });
        const computeMs = performance.now() - started;
        const t = out[outputName];
        if (!t) throw new Error(`the model returned no output "${outputName}"`);
        const data = (t.data as Float32Array).slice();
        port.postMessage({ type: 'result', id: msg.id, data: data.buffer, computeMs }, [data.buffer]);
      } catch (err) {
        port.postMessage({ type: 'error', id: msg.id, error: (err as Error).message });
      }
    })();
  });
} catch (err) {
  port.postMessage({ type: 'failed', error: (err as Error).message, fallbacks });
}
