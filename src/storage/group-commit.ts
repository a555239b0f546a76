/**
 * Group commit for inserts. Rows that arrive while a write is under way go into the next
 * write together, so N concurrent requests cost one multi-row INSERT instead of N: one round
 * trip and one WAL flush on PostgreSQL, one pass through the engine on embedded PGlite, which
 * runs on the main thread and would otherwise spend ~0.7 ms of it per row.
 * Nothing waits on a timer (a lone row is written at once), and each caller's promise settles
 * only once its own row is committed, so no response claims a record that is not stored.
 */
export interface GroupWriterOptions<In, Out> {
  /**
   * Writes rows in one statement; returns one result per row, in the rows' order. Also called
   * with a single row: for a group of one, and for each row of a group that failed together.
   */
  readonly writeRows: (rows: In[]) => Promise<Out[]>;
  /** Most rows in one statement (PostgreSQL takes at most 65,535 parameters). */
  readonly maxRows: number;
}

interface Waiting<In, Out> {
  readonly row: In;
  readonly resolve: (out: Out) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupWriter<In, Out> {
  private readonly opts: GroupWriterOptions<In, Out>;
  private readonly waiting: Array<Waiting<In, Out>> = [];
  private writing = false;

  constructor(opts: GroupWriterOptions<In, Out>) {
    this.opts = opts;
  }

  write(row: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length) {
        const group = this.waiting.splice(0, this.opts.maxRows);
        if (group.length > 1) {
          const out = await this.opts.writeRows(group.map((w) => w.row)).catch(() => undefined);
          if (out) {
            group.forEach((w, i) => w.resolve(out[i]!));
            continue;
          }
        }
        // A group of one, or a group that failed: each row on its own, so one bad row (or two
        // rows with the same key) fails only its own caller.
        await Promise.all(group.map((w) => this.opts.writeRows([w.row]).then(([out]) => w.resolve(out!), w.reject)));
      }
    } finally {
      this.writing = false;
    }
  }
}
