import { Type } from 'typebox';
import { ErrorCode, LoupeError } from '../errors.ts';

/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): at most
 * 255 printable ASCII characters, anything else is a 400. The draft makes it a Structured
 * Field string (`"…"`); a bare token is taken as well, and `"abc"` and `abc` are one key.
 */
export const IdempotencyKeyHeader = Type.String({
  minLength: 1,
  maxLength: 255,
  description:
    'At most 255 printable ASCII characters, bare or as a quoted string. The same key with the same request returns the ' +
    'first job (200); with a different request (images, model, version, top_k, webhook_url or metadata) it is refused (422).',
});

const PRINTABLE = /^[\x20-\x7E]{1,255}$/;
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/;

/** The key a request names, or undefined; a 400 for one that is not printable ASCII (the schema checks its length). */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!PRINTABLE.test(header))
    throw new LoupeError(ErrorCode.BadRequest, 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  const quoted = SF_STRING.exec(header);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : header;
  if (key.trim() === '') throw new LoupeError(ErrorCode.BadRequest, 'Idempotency-Key must not be empty');
  return key;
}
