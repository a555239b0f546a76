import { UsageError } from '../flags.ts';
import { ApiError } from './http.ts';
import { processIo, type ClientIo } from './io.ts';
import { runJobs } from './jobs.ts';
import { runPredict } from './predict.ts';

/**
 * `loupe predict …` and `loupe jobs …`: a client of a running server over HTTP. It loads
 * nothing of the server (no ONNX Runtime, sharp or database): undici, csv-stringify and Node.
 * Exit codes: 0 all done, 1 something failed, 2 usage, 130 interrupted.
 */
export async function runClient(
  command: 'predict' | 'jobs',
  argv: string[],
  io: ClientIo = processIo(),
): Promise<number> {
  try {
    return command === 'predict' ? await runPredict(argv, io) : await runJobs(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`loupe ${command}: ${err.message} (loupe ${command} --help shows the usage)\n`);
      return 2;
    }
    io.err(`loupe ${command}: ${err instanceof ApiError ? err.describe() : (err as Error).message}\n`);
    return 1;
  }
}
