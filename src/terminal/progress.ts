import { formatBytes } from './bytes.ts';

/** How far a transfer is: bytes done, of total when the source said. `end` on the last call. */
export interface ProgressEvent {
  readonly label: string;
  readonly done: number;
  readonly total?: number | undefined;
  readonly end?: boolean;
}

export type ProgressSink = (e: ProgressEvent) => void;

export interface ProgressOptions {
  /** A terminal: one line redrawn in place (with a bar), at most 10 times a second. */
  readonly tty: boolean;
  readonly write: (text: string) => void;
  /** Plain lines: at most one per this many ms (default 5 s), plus the last. */
  readonly everyMs?: number;
  readonly now?: () => number;
  /** What is counted (default bytes: "1.5 MiB", "2.0 MiB/s"); `loupe predict` counts images. */
  readonly unit?: ProgressUnit;
}

export interface ProgressUnit {
  readonly amount: (n: number) => string;
  readonly rate: (perSecond: number) => string;
}

const BYTES: ProgressUnit = { amount: formatBytes, rate: (r) => `${formatBytes(r)}/s` };

const WINDOW_MS = 3000;

/**
 * Bytes, rate and ETA. The rate is measured over the last 3 s (so a stall shows as one) and
 * the ETA is what is left at that rate; both stay blank until there is something to measure.
 */
export function progressRenderer(opts: ProgressOptions): ProgressSink {
  const now = opts.now ?? (() => performance.now());
  const everyMs = opts.tty ? 100 : (opts.everyMs ?? 5000);
  let started = 0;
  let last = -Infinity;
  let samples: Array<[number, number]> = [];
  return (e) => {
    const t = now();
    if (e.done === 0 && !e.end) {
      started = t;
      samples = [[t, 0]];
      last = t;
      return;
    }
    samples.push([t, e.done]);
    while (samples.length > 2 && t - samples[0]![0] > WINDOW_MS) samples.shift();
    if (!e.end && t - last < everyMs) return;
    last = t;
    const [t0, d0] = samples[0]!;
    const rate = e.end ? (e.done * 1000) / Math.max(1, t - started) : t > t0 ? ((e.done - d0) * 1000) / (t - t0) : 0;
    const line = describe(e, rate, (t - started) / 1000, opts.tty, opts.unit ?? BYTES);
    if (opts.tty) opts.write(`\r\x1b[2K${line}${e.end ? '\n' : ''}`);
    else opts.write(`${line}\n`);
  };
}

function describe(e: ProgressEvent, rate: number, elapsedS: number, tty: boolean, unit: ProgressUnit): string {
  const size = e.total !== undefined ? `${unit.amount(e.done)} / ${unit.amount(e.total)}` : unit.amount(e.done);
  const pct = e.total ? Math.min(100, Math.floor((e.done / e.total) * 100)) : undefined;
  const speed = rate > 0 ? unit.rate(rate) : '';
  if (e.end) return `${e.label}  ${size}  done in ${clock(elapsedS)}${speed ? `  ${speed}` : ''}`;
  const eta = e.total !== undefined && rate > 0 ? `ETA ${clock((e.total - e.done) / rate)}` : '';
  const bar = tty && pct !== undefined ? `[${'#'.repeat(pct / 5).padEnd(20, '.')}] ` : '';
  return [`${e.label}  ${bar}${size}`, pct !== undefined ? `${pct}%` : '', speed, eta].filter(Boolean).join('  ');
}

/** 0:07, 1:05:09. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
