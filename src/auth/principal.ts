import type { FastifyRequest } from 'fastify';

/**
 * What an API key may do. `predict` submits work (POST /predict, OIP infer, POST /jobs) and
 * polls its own jobs; `read` reads records: with `predict`, its own; alone (a read-only key,
 * which can never own a record), everyone's; `admin` does everything, on every record.
 */
export const SCOPES = ['predict', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** Who sent a request: the API key it carried, once checked. */
export interface Principal {
  /** The key's public id (the part of `lp_<id>_<secret>` shown by `loupe keys list`). */
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The API key's principal, set by the auth hook (the first onRequest hook after the
     * request id and security headers) on routes that need a key; undefined when auth is off
     * and on the open routes (health, metrics, docs).
     */
    principal?: Principal | undefined;
  }
}

/** The owner recorded with what a request makes: its key's id, or null when auth is off. */
export function ownerOf(req: FastifyRequest): string | null {
  return req.principal?.keyId ?? null;
}

/**
 * Whose records a request may see: undefined means everyone's (auth off, an admin key, or a
 * read-only key), otherwise only those its key made; others' records answer 404, as if they
 * did not exist. A key without `predict` makes nothing, so "its own" would always be empty:
 * a read-only key is the one an operator gives a dashboard or an auditor, and reads all.
 */
export function visibleOwner(req: FastifyRequest): string | undefined {
  const p = req.principal;
  if (!p || p.scopes.includes('admin') || !p.scopes.includes('predict')) return undefined;
  return p.keyId;
}
