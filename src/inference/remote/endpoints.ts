import { lookup } from 'node:dns/promises';
import { Pool } from 'undici';

/** A host name → its addresses (DNS by default; a test names its own). */
export type Lookup = (host: string) => Promise<string[]>;

const dnsLookup: Lookup = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Every address behind the model service's name, each with its own keep-alive pool, handed
 * out round-robin. Re-resolving the name picks up scaled-up replicas and drops dead ones;
 * one pool per address is what keeps keep-alive from pinning all traffic to one replica.
 */
export class Endpoints {
  private readonly bases: URL[];
  private readonly lookup: Lookup;
  private pools = new Map<string, Pool>();
  private order: string[] = [];
  private next = 0;

  /** One URL whose host name resolves to every replica, or a comma-separated list of URLs. */
  constructor(baseUrls: string, lookup: Lookup = dnsLookup) {
    this.bases = baseUrls.split(',').map((u) => new URL(u.trim()));
    this.lookup = lookup;
  }

  get size(): number {
    return this.order.length;
  }

  async resolve(): Promise<void> {
    const all = await Promise.all(
      this.bases.map(async (base) => {
        const port = base.port || (base.protocol === 'https:' ? '443' : '80');
        const found = await this.lookup(base.hostname.replace(/^\[|\]$/g, '')).catch(() => []);
        return found.map((a) => `${base.protocol}//${a.includes(':') ? `[${a}]` : a}:${port}`);
      }),
    );
    const origins = [...new Set(all.flat())].sort();
    if (origins.length === 0) throw new Error(`cannot resolve ${this.bases.map((b) => b.host).join(', ')}`);
    for (const o of origins)
      if (!this.pools.has(o))
        this.pools.set(
          o,
          new Pool(o, { connections: 16, keepAliveTimeout: 10_000, headersTimeout: 60_000, bodyTimeout: 60_000 }),
        );
    for (const [o, pool] of this.pools) {
      if (!origins.includes(o)) {
        this.pools.delete(o);
        void pool.close().catch(() => undefined);
      }
    }
    this.order = origins;
  }

  /** The next `n` distinct pools to try, starting with the round-robin pick. */
  pick(n: number): Array<{ origin: string; pool: Pool }> {
    const out: Array<{ origin: string; pool: Pool }> = [];
    if (this.order.length === 0) return out;
    const start = this.next++ % this.order.length;
    for (let i = 0; i < Math.min(n, this.order.length); i++) {
      const origin = this.order[(start + i) % this.order.length]!;
      out.push({ origin, pool: this.pools.get(origin)! });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
    this.order = [];
  }
}
