import proxyAddr from '@fastify/proxy-addr';
import type { IncomingMessage } from 'node:http';

export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean);

/** LOUPE_TRUST_PROXY as Fastify takes it: off, on, a hop count, or addresses/CIDRs. */
export function trustProxy(value: string): TrustProxy {
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return (_address, hop) => hop < Number(value);
  return value.split(',').map((s) => s.trim());
}

/**
 * Client addresses for connections that are not Fastify's (gRPC): the peer, or, where
 * LOUPE_TRUST_PROXY trusts it, the address its X-Forwarded-For names — Fastify's rule, applied
 * with the library Fastify applies it with, so a client has one address whichever API it calls.
 */
export function clientAddress(value: string): (peer: string, forwardedFor: string | undefined) => string {
  const trust = trustProxy(value);
  if (trust === false) return (peer) => peer;
  const fn = trust === true ? () => true : typeof trust === 'function' ? trust : proxyAddr.compile(trust);
  return (peer, forwardedFor) => {
    if (!forwardedFor) return peer;
    const req = { socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwardedFor } };
    return proxyAddr.all(req as unknown as IncomingMessage, fn).at(-1) ?? peer;
  };
}
