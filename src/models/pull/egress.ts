import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { classifyAddress, hostOf, systemResolver, type AddressClass } from '../../net/index.ts';
import { PullError } from './errors.ts';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const NEVER: ReadonlySet<AddressClass> = new Set(['unspecified', 'multicast']);

export interface Hop {
  readonly res: Dispatcher.ResponseData;
  /** The URL that answered (after the redirects that were followed). */
  readonly url: URL;
}

export interface OpenOptions {
  readonly method?: 'GET' | 'HEAD';
  /** 'all': follow redirects; 'same-origin': only within the origin (the Hub's repo renames), else return the 3xx. */
  readonly follow?: 'all' | 'same-origin';
  /** An Authorization header sent to this origin only, never to a host a redirect leads to. */
  readonly auth?: { readonly origin: string; readonly value: string } | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Where a pull may connect. Outbound requests go only where the user pointed: public
 * addresses, plus non-public ones of the same kind as the host the user named (a loopback
 * test server, a mirror on the private network). So a public source can never lead, by a
 * redirect or a DNS answer, to loopback, the private network or cloud metadata
 * (169.254.169.254). Every address is checked when the connection is made, not before.
 */
export class Egress {
  private readonly allowed: ReadonlySet<AddressClass>;
  private readonly agent: Agent;

  private constructor(allowed: ReadonlySet<AddressClass>) {
    this.allowed = allowed;
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const refused = addresses.map((a) => this.refusal(a.address)).find((r) => r !== undefined);
        if (refused) return callback(new PullError(`refused to connect to ${hostname}: ${refused}`), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    this.agent = new Agent({ connect: { lookup, timeout: 30_000 }, headersTimeout: 60_000, bodyTimeout: 60_000 });
  }

  /** The policy for a source at `origin`: the non-public kinds its host resolves to are allowed. */
  static async forOrigin(origin: URL): Promise<Egress> {
    const host = hostOf(origin);
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await systemResolver(host)).map((a) => a.address);
    } catch (err) {
      throw new PullError(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const kinds = new Set(addresses.map(classifyAddress));
    for (const k of kinds) if (NEVER.has(k)) throw new PullError(`${host} is an ${k} address`);
    kinds.delete('public');
    return new Egress(kinds);
  }

  /** Why an address may not be reached; undefined when it may. */
  refusal(address: string): string | undefined {
    const kind = classifyAddress(address);
    if (kind === 'public' || this.allowed.has(kind)) return undefined;
    return `${address} is ${kind}, and the source the pull started from is not`;
  }

  /**
   * One request, following redirects by the rules above: http(s) only, never from https to
   * http, at most 5. The caller reads or dumps the body.
   */
  async open(start: URL, opts: OpenOptions = {}): Promise<Hop> {
    let url = start;
    for (let hops = 0; ; hops++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new PullError(`refused a redirect to ${url.protocol}// (only http and https are followed)`);
      const host = hostOf(url);
      const literal = isIP(host) ? this.refusal(host) : undefined;
      if (literal) throw new PullError(`refused to connect to ${host}: ${literal}`);
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'loupe-models-pull' };
      if (opts.auth && url.origin === opts.auth.origin) headers.authorization = opts.auth.value;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: opts.method ?? 'GET',
          headers,
          signal: opts.signal,
          dispatcher: this.agent,
        });
      } catch (err) {
        throw networkError(url, err);
      }
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return { res, url };
      const next = new URL(location, url);
      if (opts.follow === 'same-origin' && next.origin !== url.origin) return { res, url };
      await res.body.dump();
      if (hops >= MAX_REDIRECTS) throw new PullError(`${url.origin}: more than ${MAX_REDIRECTS} redirects`);
      if (url.protocol === 'https:' && next.protocol === 'http:')
        throw new PullError(`refused a redirect from https to http (${next.origin})`);
      url = next;
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** A failed connection or transfer as one line: which host, and what the network said. */
export function networkError(url: URL, err: unknown): Error {
  if (err instanceof PullError) return err;
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  if (e.name === 'AbortError') return e;
  if (e.cause instanceof PullError) return e.cause;
  const code = e.cause?.code ?? e.code;
  const detail = code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  return new PullError(`cannot reach ${url.origin}: ${detail}`);
}
