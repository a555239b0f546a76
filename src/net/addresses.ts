import { BlockList, isIP } from 'node:net';

/**
 * What kind of address an IP is, for the webhook egress policy: only 'public' unicast
 * addresses are a receiver by default. IPv6 forms that embed an IPv4 address (mapped,
 * compatible, NAT64, 6to4) are judged by the address inside.
 */

/** What an address is; anything but 'public' is refused unless allowed. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'multicast'
  | 'reserved'
  | 'benchmarking'
  | 'documentation';

/** Classes no allow-list entry can open: they are not a receiver's address. */
export const NEVER: ReadonlySet<AddressClass> = new Set(['unspecified', 'multicast']);

const V4: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // cloud metadata (169.254.169.254) lives here
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes the broadcast address 255.255.255.255
];

// Checked after the forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4).
const V6: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ['::1', 128, 'loopback'],
  ['::', 128, 'unspecified'],
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 32, 'reserved'], // Teredo
  ['2001:2::', 48, 'benchmarking'],
  ['2001:10::', 28, 'reserved'], // ORCHID
  ['2001:20::', 28, 'reserved'], // ORCHIDv2
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // site-local (deprecated)
  ['ff00::', 8, 'multicast'],
];

function lists(ranges: ReadonlyArray<readonly [string, number, AddressClass]>, family: 'ipv4' | 'ipv6') {
  const byClass = new Map<AddressClass, BlockList>();
  for (const [net, prefix, cls] of ranges) {
    if (!byClass.has(cls)) byClass.set(cls, new BlockList());
    byClass.get(cls)!.addSubnet(net, prefix, family);
  }
  return [...byClass];
}
const V4_LISTS = lists(V4, 'ipv4');
const V6_LISTS = lists(V6, 'ipv6');
/** Global unicast: every other IPv6 address is refused. */
const V6_GLOBAL = new BlockList();
V6_GLOBAL.addSubnet('2000::', 3, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted quad included). */
function groups(ip: string): number[] {
  let s = ip;
  const tail: number[] = [];
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = quad.slice(2).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    s = quad[1]!.endsWith('::') ? quad[1]! : quad[1]!.slice(0, -1);
  }
  const hex = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = s.indexOf('::');
  if (gap < 0) return [...hex(s), ...tail];
  const left = hex(s.slice(0, gap));
  const right = [...hex(s.slice(gap + 2)), ...tail];
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address stands for: mapped, compatible, NAT64 (64:ff9b::/96), 6to4. */
export function embeddedIPv4(ip: string): string | undefined {
  const g = groups(ip);
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated); :: and ::1 are themselves.
    if (g[5] === 0 && g[6] === 0 && (g[7] === 0 || g[7] === 1)) return undefined;
    return v4Of(g[6]!, g[7]!);
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4Of(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4Of(g[1]!, g[2]!);
  return undefined;
}

export const stripZone = (ip: string) => ip.replace(/%.*$/, '');

/**
 * Classifies a resolved IP address (canonical text form, as DNS or the URL parser gives it).
 * IPv6 forms that carry an IPv4 address are judged by that address. Throws for a non-address.
 */
export function classifyAddress(address: string): AddressClass {
  const ip = stripZone(address).toLowerCase();
  const family = isIP(ip);
  if (family === 4) {
    for (const [cls, list] of V4_LISTS) if (list.check(ip, 'ipv4')) return cls;
    return 'public';
  }
  if (family !== 6) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const v4 = embeddedIPv4(ip);
  if (v4 !== undefined) return classifyAddress(v4);
  for (const [cls, list] of V6_LISTS) if (list.check(ip, 'ipv6')) return cls;
  return V6_GLOBAL.check(ip, 'ipv6') ? 'public' : 'reserved';
}

export const isPublicAddress = (address: string): boolean => classifyAddress(address) === 'public';
