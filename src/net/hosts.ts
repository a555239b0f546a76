import { promises as dns } from 'node:dns';

/** dns.lookup's answer: every address of a name, in the resolver's order. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;
export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, order: 'verbatim' });

/** The host of a URL as the connection uses it: lower case, no IPv6 brackets, no trailing dot. */
export function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}
