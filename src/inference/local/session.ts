import path from 'node:path';
import ort from 'onnxruntime-node';
import type { SessionShape } from '../../models/index.ts';
import { optimizeInChild } from './optimize.ts';

export interface SessionOptions {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly executionProviders: readonly string[];
  /** Let idle intra-op threads spin (lower latency when ONNX Runtime has the cores to itself). */
  readonly spinning?: boolean;
  /** Run the CPU provider's graph optimizations in a child process (optimize.ts says why). */
  readonly optimizeInChild?: boolean;
}

/** A session on its provider, with the graph's inputs and outputs as ONNX Runtime reports them. */
export interface LoadedSession extends SessionShape {
  readonly session: ort.InferenceSession;
  readonly provider: string;
  /** The ONNX file this provider runs (a per-provider variant, or model.onnx). */
  readonly file: string;
  /** Where the graph was optimized; with the child's failure when that was asked for and failed. */
  readonly optimized: { readonly where: 'child' | 'in-process'; readonly error?: string };
}

/**
 * One ONNX Runtime session, on the first execution provider in the list that initialises.
 * Returns the provider that is active, or throws with every provider's failure.
 */
export async function createSession(
  onnxPath: string,
  opts: SessionOptions,
  onFallback?: (provider: string, err: Error) => void,
  variants: Readonly<Record<string, string>> = {},
): Promise<LoadedSession> {
  const failures: string[] = [];
  for (const provider of opts.executionProviders) {
    const file = variants[provider] ? path.join(path.dirname(onnxPath), variants[provider]) : onnxPath;
    try {
      const { session, optimized } = await open(file, provider, opts);
      const meta = (m: ort.InferenceSession.ValueMetadata) => ({
        name: m.name,
        shape: m.isTensor ? m.shape : undefined,
        type: m.isTensor ? String(m.type) : undefined,
      });
      return {
        session,
        provider,
        file,
        optimized,
        inputs: session.inputMetadata.map(meta),
        outputs: session.outputMetadata.map(meta),
      };
    } catch (err) {
      failures.push(`${provider}: ${(err as Error).message.split('\n')[0]}`);
      onFallback?.(provider, err as Error);
    }
  }
  throw new Error(`no execution provider could load ${onnxPath} (${failures.join('; ')})`);
}

/**
 * The session on one provider. On the CPU provider, with `optimizeInChild`, from the graph the
 * child optimized; should that graph not load, from the model itself as before.
 */
async function open(
  file: string,
  provider: string,
  opts: SessionOptions,
): Promise<{ session: ort.InferenceSession; optimized: LoadedSession['optimized'] }> {
  const options = (level: 'all' | 'disabled'): ort.InferenceSession.SessionOptions => ({
    executionProviders: [provider],
    intraOpNumThreads: opts.intraOpThreads,
    interOpNumThreads: opts.interOpThreads,
    graphOptimizationLevel: level,
    executionMode: 'sequential',
    // A memory pattern is planned and kept per input shape, so every batch size the
    // batcher forms pins another block in the arena; without it ResNet-18's peak at batch
    // 16 is ~20 MB lower and runs are no slower (measured in-process, interleaved).
    enableMemPattern: false,
    // Spinning threads would steal the cores that decode the next images.
    extra: {
      session: {
        intra_op: { allow_spinning: opts.spinning ? '1' : '0' },
        inter_op: { allow_spinning: opts.spinning ? '1' : '0' },
      },
    },
  });
  const inProcess = async (error?: string) => ({
    session: await ort.InferenceSession.create(file, options('all')),
    optimized: { where: 'in-process' as const, ...(error ? { error } : {}) },
  });
  // Only the CPU provider's: other providers optimize for their device when the session starts.
  if (provider !== 'cpu' || !opts.optimizeInChild) return inProcess();
  const graph = await optimizeInChild(file);
  if (typeof graph === 'string') return inProcess(graph);
  let error: string;
  try {
    return {
      session: await ort.InferenceSession.create(graph.path, options('disabled')),
      optimized: { where: 'child' },
    };
  } catch (err) {
    // e.g. a graph whose weights were in an external data file next to the original
    error = `the optimized graph did not load: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    graph.dispose(); // the session holds the graph in memory now (or failed without it)
  }
  return inProcess(error);
}
