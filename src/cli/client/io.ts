import { once } from 'node:events';
import { abortOnSignal, type StopSignal } from '../signals.ts';

export type { StopSignal };

/** Where a client command writes and what it is told to stop by; the process's own by default. */
export interface ClientIo {
  /** Results (stdout). */
  readonly out: (text: string) => void;
  /** Progress, problems, the summary (stderr). */
  readonly err: (text: string) => void;
  /** stderr is a terminal: a progress line is drawn there. */
  readonly tty: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves once stdout can take more, so a slow reader of a huge run holds no backlog. */
  drained(): Promise<void>;
  /** Aborted by Ctrl-C / SIGTERM (a second one exits at once) or a reader gone (EPIPE). */
  stopSignal(): StopSignal;
}

export function processIo(): ClientIo {
  let stdoutGone = false;
  const stops = new Set<StopSignal>();
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone = true; // `loupe predict … | head`: stop quietly
    for (const s of stops) s.abort();
  });
  return {
    out: (text) => {
      if (!stdoutGone) process.stdout.write(text);
    },
    err: (text) => process.stderr.write(text),
    tty: process.stderr.isTTY === true,
    env: process.env,
    drained: async () => {
      if (process.stdout.writableNeedDrain && !stdoutGone) await once(process.stdout, 'drain').catch(() => undefined);
    },
    stopSignal: () => {
      const stop = abortOnSignal();
      stops.add(stop);
      return {
        ...stop,
        dispose: () => {
          stops.delete(stop);
          stop.dispose();
        },
      };
    },
  };
}
