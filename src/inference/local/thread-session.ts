import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SessionShape } from '../../models/index.ts';
import type { LoadedSession, SessionOptions } from './session.ts';

type Meta = SessionShape['inputs'];
type Ready = Pick<LoadedSession, 'provider' | 'file' | 'optimized'> & { inputs: Meta; outputs: Meta };

// Next to this file: thread-entry.ts from source, thread-entry.js once compiled.
const THREAD = new URL(`./thread-entry${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * A batch's output and ONNX Runtime's own time for it on the thread; the caller's wall time
 * adds the hand-over both ways, which waits for a busy event loop.
 */
export interface ThreadRun {
  readonly output: Float32Array;
  readonly computeMs: number;
}

/** An ONNX Runtime session living on its own thread; batches go over by transfer, not copy. */
export class ThreadSession {
  readonly provider: string;
  readonly file: string;
  readonly optimized: LoadedSession['optimized'];
  readonly inputs: Meta;
  readonly outputs: Meta;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: ThreadRun) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  private constructor(worker: Worker, ready: Ready) {
    this.worker = worker;
    this.provider = ready.provider;
    this.file = ready.file;
    this.optimized = ready.optimized;
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    worker.on(
      'message',
      (msg: { type?: string; id: number; data?: ArrayBuffer; computeMs?: number; error?: string }) => {
        if (msg?.type !== 'result' && msg?.type !== 'error') return;
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.type === 'result') p.resolve({ output: new Float32Array(msg.data!), computeMs: msg.computeMs ?? 0 });
        else p.reject(new Error(msg.error));
      },
    );
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('the inference thread exited')));
  }

  /**
   * Starts the thread and loads the model on the first provider that initialises. Reports each
   * provider that failed through `onFallback`, as the in-thread createSession does.
   */
  static async create(
    onnxPath: string,
    opts: SessionOptions,
    io: { inputName: string; outputName?: string | undefined },
    variants: Readonly<Record<string, string>> = {},
    onFallback?: (provider: string, err: Error) => void,
  ): Promise<ThreadSession> {
    const worker = new Worker(THREAD, { workerData: { onnxPath, opts, variants, ...io } });
    const ready = await new Promise<
      Ready & { type: string; error?: string; fallbacks: Array<{ provider: string; error: string }> }
    >((resolve, reject) => {
      // Only our own messages: under `node --watch` the runtime posts its own ones too.
      const onMessage = (msg: { type?: string }) => {
        if (msg?.type !== 'ready' && msg?.type !== 'failed') return;
        worker.off('message', onMessage);
        resolve(msg as Parameters<typeof resolve>[0]);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`the inference thread exited (${code}) while loading ${onnxPath}`)),
      );
    });
    for (const f of ready.fallbacks) onFallback?.(f.provider, new Error(f.error));
    if (ready.type !== 'ready') {
      await worker.terminate();
      throw new Error(ready.error ?? `could not load ${onnxPath}`);
    }
    return new ThreadSession(worker, ready);
  }

  /** Runs one batch; `batch` is transferred to the thread and unusable afterwards. */
  run(batch: Float32Array, dims: number[]): Promise<ThreadRun> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const buf =
        batch.byteOffset === 0 && batch.byteLength === batch.buffer.byteLength ? batch.buffer : batch.slice().buffer;
      this.worker.postMessage({ id, data: buf, dims }, [buf as ArrayBuffer]);
    });
  }

  async release(): Promise<void> {
    this.worker.postMessage({ type: 'release' });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        void this.worker.terminate().then(() => resolve());
      }, 2000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
