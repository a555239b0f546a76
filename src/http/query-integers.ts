import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError, quoted } from '../errors.ts';

/** Decimal digits only: what a whole number in a query or form field may look like. */
const DECIMAL = /^[0-9]{1,16}$/;

export const isDecimal = (s: string): boolean => DECIMAL.test(s);

interface ObjectSchema {
  properties?: Record<string, { type?: string }>;
}

/**
 * Strict whole numbers in every query string, for every route at once, from its own schema.
 * Ajv's coercion (coerceTypes, needed because a query is all strings) compares loosely:
 * `top_k=0x3`, `top_k=%201` and `top_k=1e0` pass as 3, 1 and 1. This runs before validation:
 * an `integer` parameter must be decimal digits, given once; ajv then converts it and checks its
 * range. A bracketed name (`top_k[]=3`) is refused, not silently ignored.
 */
export function registerStrictQueryIntegers(app: FastifyInstance): void {
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const query = req.query as Record<string, unknown> | undefined;
    if (!query || typeof query !== 'object') return;
    for (const key of Object.keys(query))
      if (key.includes('['))
        throw new LoupeError(ErrorCode.BadRequest, `query parameter ${quoted(key)}: names take no brackets`);
    const props = (req.routeOptions.schema?.querystring as ObjectSchema | undefined)?.properties ?? {};
    for (const [name, schema] of Object.entries(props)) {
      if (schema.type !== 'integer' || query[name] === undefined) continue;
      const v = query[name];
      if (typeof v !== 'string') throw new LoupeError(ErrorCode.BadRequest, `query parameter ${name}: give it once`);
      if (!isDecimal(v))
        throw new LoupeError(
          ErrorCode.BadRequest,
          `query parameter ${name} must be a whole number in decimal digits, got ${quoted(v, 32)}`,
        );
    }
  });
}
