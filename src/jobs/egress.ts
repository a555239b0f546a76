import { BlockList, isIP } from 'node:net';
import { NEVER, classifyAddress, hostOf, stripZone, systemResolver, type Resolver } from '../net/index.ts';

/**
 * Where webhooks may go (SSRF): only to public unicast addresses, unless the operator's
 * allow-list (LOUPE_WEBHOOK_ALLOW) names the receiver's range or host name.
 */

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/**
 * Which webhook receivers may be non-public. Built from LOUPE_WEBHOOK_ALLOW: comma-separated
 * CIDRs (10.0.0.0/8, fd00::/8), addresses (a /32 or /128) and host names (hook, or *.internal
 * for every name under internal). The default allows none. `resolve` is how host names are
 * looked up (the system resolver; tests pass a stub).
 */
export class WebhookPolicy {
  /** No private, loopback, link-local… receivers at all. */
  static readonly publicOnly = new WebhookPolicy();

  readonly resolve: Resolver;
  private readonly ranges = new BlockList();
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(opts: { allow?: string; resolve?: Resolver } = {}) {
    this.resolve = opts.resolve ?? systemResolver;
    for (const raw of (opts.allow ?? '').split(',')) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const [addr = '', prefix, extra] = entry.split('/');
      const family = isIP(addr);
      if (family !== 0) {
        const max = family === 4 ? 32 : 128;
        const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
        if (extra !== undefined || !(bits >= 0 && bits <= max))
          throw new Error(`"${raw.trim()}" has no valid prefix length (0 to ${max})`);
        this.ranges.addSubnet(addr, bits, family === 4 ? 'ipv4' : 'ipv6');
      } else if (prefix === undefined && HOST_NAME.test(entry) && !/^[\d.]+$/.test(entry)) {
        const name = entry.replace(/\.$/, '');
        if (name.startsWith('*.')) this.suffixes.push(name.slice(1));
        else this.hosts.add(name);
      } else {
        throw new Error(`"${raw.trim()}" is neither a CIDR, an IP address nor a host name`);
      }
    }
  }

  /**
   * Why a connection to `address` for the URL host `host` is refused, for the log
   * ("10.0.0.5 is private"); undefined when it may go ahead.
   */
  refusal(host: string, address: string): string | undefined {
    const cls = classifyAddress(address);
    if (cls === 'public') return undefined;
    if (NEVER.has(cls)) return `${address} is ${cls}`;
    if (this.allowsHost(host)) return undefined;
    // BlockList matches an IPv4-mapped address (::ffff:a.b.c.d) against IPv4 ranges too.
    const ip = stripZone(address);
    if (this.ranges.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6')) return undefined;
    return `${address} is ${cls} and not in LOUPE_WEBHOOK_ALLOW`;
  }

  private allowsHost(host: string): boolean {
    const h = host.replace(/\.$/, '').toLowerCase();
    if (isIP(h)) return false;
    return this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }
}

/**
 * Checks a client's webhook_url before the job is accepted: http(s), no credentials, and a
 * literal address must be allowed (a host name is checked when it is resolved, at delivery).
 * Returns why it is refused, or undefined.
 */
export function webhookUrlProblem(url: string, policy: WebhookPolicy): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'webhook_url is not a valid URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'webhook_url must be http or https';
  if (u.username !== '' || u.password !== '') return 'webhook_url must not carry credentials';
  const host = hostOf(u);
  if (isIP(host) && policy.refusal(host, host) !== undefined)
    return 'webhook_url: the webhook address is not allowed (not a public address)';
  return undefined;
}
