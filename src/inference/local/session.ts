import path from 'node:path';
import ort from 'onnxruntime-node';
import type { SessionShape } from '../../models/index.ts';

export interface SessionOptions {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly executionProviders: readonly string[];
  /** Let idle intra-op threads spin (lower latency when ONNX Runtime has the cores to itself). */
  readonly spinning?: boolean;
}

/** A session on its provider, with the graph's inputs and outputs as ONNX Runtime reports them. */
export interface LoadedSession extends SessionShape {
  readonly session: ort.InferenceSession;
  readonly provider: string;
  /** The ONNX file this provider runs (a per-provider variant, or model.onnx). */
  readonly file: string;
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
      const session = await ort.InferenceSession.create(file, {
        executionProviders: [provider],
        intraOpNumThreads: opts.intraOpThreads,
        interOpNumThreads: opts.interOpThreads,
        graphOptimizationLevel: 'all',
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
      const meta = (m: ort.InferenceSession.ValueMetadata) => ({
        name: m.name,
        shape: m.isTensor ? m.shape : undefined,
        type: m.isTensor ? String(m.type) : undefined,
      });
      return {
        session,
        provider,
        file,
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
