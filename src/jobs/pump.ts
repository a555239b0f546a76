import type { Job, PgBoss } from 'pg-boss';

export interface PumpOptions<T> {
  readonly queue: string;
  /** Handlers running at once. */
  readonly concurrency: number;
  /** At most this many of them on jobs of one pg-boss group (counted across all processes). */
  readonly groupConcurrency: number;
  /** How often an idle pump looks for work (a nudge or a finished handler looks at once). */
  readonly pollMs: number;
  /** Resolves: the job is completed; throws: it is failed, and pg-boss retries it by its options. */
  readonly handle: (data: T) => Promise<void>;
  readonly onError: (err: Error) => void;
}

/**
 * A consumer for a queue whose handlers mostly wait on the network: one loop fetches as many
 * jobs as there are free slots (pg-boss fetch with groupConcurrency, so a group at its cap is
 * skipped in the same query) and settles each on its own. pg-boss's work() with
 * localConcurrency runs one polling loop per slot instead, which makes dozens of slots cost
 * dozens of idle queries a second. A job is completed only after its handler resolved: a
 * process killed meanwhile leaves it active until it expires, then pg-boss retries it.
 */
export class QueuePump<T extends object> {
  private readonly boss: PgBoss;
  private readonly opts: PumpOptions<T>;
  private readonly running = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** A nudge that came while the loop was fetching: it looks again rather than sleeping. */
  private nudged = false;

  constructor(boss: PgBoss, opts: PumpOptions<T>) {
    this.boss = boss;
    this.opts = opts;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** There may be work now (this process just queued some): look without waiting for the poll. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  /** Stops fetching and waits for the handlers in hand (each bounded by its own timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.nudge();
    await this.loop;
    await Promise.allSettled([...this.running]);
  }

  private async run(): Promise<void> {
    const { queue, concurrency, groupConcurrency, pollMs } = this.opts;
    let failures = 0;
    while (!this.stopping) {
      this.nudged = false;
      const free = concurrency - this.running.size;
      let fetched = 0;
      if (free > 0) {
        try {
          const jobs = await this.boss.fetch<T>(queue, { batchSize: free, groupConcurrency });
          fetched = jobs.length;
          for (const job of jobs) this.dispatch(job);
          failures = 0;
        } catch (err) {
          // The database may be away for a while: look less often until it answers.
          failures = Math.min(failures + 1, 5);
          this.opts.onError(err as Error);
        }
      }
      // A full batch may mean more is waiting; otherwise sleep until a slot frees, a nudge, or the poll.
      if ((fetched > 0 && fetched === free) || this.nudged) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs * (1 + failures));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private dispatch(job: Job<T>): void {
    const attempt = { id: job.id, retryCount: job.retryCount };
    const settled = this.opts
      .handle(job.data)
      .then(
        () => this.boss.complete(this.opts.queue, attempt),
        (err: Error) => this.boss.fail(this.opts.queue, attempt, { message: err.message }),
      )
      .then(
        () => undefined,
        (err: unknown) => this.opts.onError(err as Error),
      )
      .finally(() => {
        this.running.delete(settled);
        this.nudge();
      });
    this.running.add(settled);
  }
}
