import { progressRenderer, type ProgressSink } from '../../terminal/index.ts';

/** Counts for people: "12 / 40", "35.2 img/s". */
const IMAGES = { amount: (n: number) => String(n), rate: (r: number) => `${r.toFixed(1)} img/s` };

/**
 * Everything a client command says on stderr. On a terminal, a progress line redrawn in place
 * (`models pull`'s renderer, counting images), cleared before any other line is written;
 * piped, no progress at all — only problems and the summary.
 */
export class Display {
  private readonly bar: ProgressSink | undefined;
  private shown = false;

  private readonly write: (text: string) => void;
  private readonly label: string;

  constructor(write: (text: string) => void, tty: boolean, label: string, now?: () => number) {
    this.write = write;
    this.label = label;
    this.bar = tty
      ? progressRenderer({ tty: true, write: (s) => this.draw(s), unit: IMAGES, ...(now ? { now } : {}) })
      : undefined;
  }

  start(): void {
    this.bar?.({ label: this.label, done: 0 });
  }

  progress(done: number, total: number | undefined, failed: number): void {
    this.bar?.({ label: failed ? `${this.label} (${failed} failed)` : this.label, done, total });
  }

  /** A line of its own (a failed file, a retry), above the progress line. */
  line(text: string): void {
    this.clear();
    this.write(`${text}\n`);
  }

  /** Removes the progress line for good (before the summary). */
  clear(): void {
    if (this.shown) this.write('\r\x1b[2K');
    this.shown = false;
  }

  private draw(s: string): void {
    this.shown = true;
    this.write(s);
  }
}

export function summary(done: number, failed: number, skipped: number, seconds: number): string {
  const rate = seconds > 0 ? done / seconds : 0; // images classified per second
  const parts = [`${done} done`, `${failed} failed`];
  if (skipped) parts.push(`${skipped} skipped (not an image extension)`);
  return `${parts.join(', ')} in ${seconds.toFixed(1)} s (${rate.toFixed(1)} img/s)`;
}
