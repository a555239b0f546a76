import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKeyInfo, ApiKeyStore, KeyVerifier } from '../../auth/index.ts';
import { ErrorCode, LoupeError } from '../../errors.ts';
import { errorResponses } from '../schemas.ts';

/** What the keys API needs of the key store: the running role's own, so no restart is needed. */
export type KeyAdmin = Pick<ApiKeyStore, 'create' | 'list' | 'revoke'>;

const KEY_ID_PATTERN = '^[0-9a-f]{8}$';
const Scope = Type.Union([Type.Literal('predict'), Type.Literal('read'), Type.Literal('admin')]);
const view = (k: ApiKeyInfo) => ({ ...k, scopes: [...k.scopes] });

const KeyInfo = Type.Object({
  id: Type.String({ pattern: KEY_ID_PATTERN, description: 'Public id: the 8 hex characters after `lp_`' }),
  name: Type.String(),
  scopes: Type.Array(Scope),
  source: Type.Union([Type.Literal('cli'), Type.Literal('file')], {
    description: '`cli`: made by `loupe keys create` or POST /keys; `file`: from LOUPE_API_KEYS_FILE',
  }),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  revoked_at: Type.Union([Type.String(), Type.Null()]),
});

const example = {
  id: '3f9a1c2b',
  name: 'frontend',
  scopes: ['predict', 'read'],
  source: 'cli',
  created_at: '2026-01-01T12:00:00.000Z',
  last_used_at: null,
  revoked_at: null,
};

const NewKey = Type.Object(
  {
    key: Type.String({ description: 'The secret key, `lp_<id>_<secret>`: shown in this answer only, never again' }),
    info: KeyInfo,
  },
  { examples: [{ key: 'lp_3f9a1c2b_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', info: example }] },
);

const NewKeyRequest = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9._@:-]{1,64}$', description: '1-64 of A-Z a-z 0-9 . _ @ : -' }),
    scopes: Type.Array(Scope, { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false, examples: [{ name: 'frontend', scopes: ['predict', 'read'] }] },
);

/**
 * API keys over HTTP, for a key of scope `admin` (the auth policy gives every route it does not
 * list to admin only): create (the secret is in that answer alone), list (never secrets), revoke.
 * They work on the running role's key store, so a key made or revoked here counts from the next
 * request, without a restart. With keys off (LOUPE_AUTH) these routes refuse: nobody could be
 * told apart, and a key minted by anyone then would be valid once keys are turned on.
 */
export const keyRoutes: FastifyPluginAsyncTypebox<{ keys: KeyAdmin; auth: KeyVerifier | undefined }> = async (
  app,
  { keys, auth },
) => {
  const tags = ['keys'];
  if (!auth)
    app.addHook('onRequest', async () => {
      throw new LoupeError(
        ErrorCode.Forbidden,
        'the keys API needs API keys to be required (LOUPE_AUTH=required); with keys off, use `loupe keys create` on the database',
      );
    });

  app.post(
    '/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key (admin); the answer is the only place its secret is shown',
        body: NewKeyRequest,
        response: { 201: NewKey, ...errorResponses(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const made = await keys.create(req.body.name, req.body.scopes);
      req.log.info({ key_id: made.info.id, scopes: made.info.scopes }, 'API key created');
      reply.code(201).header('cache-control', 'no-store');
      return { key: made.key, info: view(made.info) };
    },
  );

  app.get(
    '/keys',
    {
      schema: {
        tags,
        summary: 'List API keys (admin), revoked ones included; never their secrets',
        response: { 200: Type.Object({ keys: Type.Array(KeyInfo) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({ keys: (await keys.list()).map(view) }),
  );

  app.delete(
    '/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key (admin): it stops working at the next request; revocation is final',
        params: Type.Object({ id: Type.String({ pattern: KEY_ID_PATTERN }) }),
        response: {
          200: Type.Object({ id: Type.String(), revoked: Type.Literal(true), already: Type.Boolean() }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (req) => {
      const outcome = await keys.revoke(req.params.id);
      if (outcome === 'unknown') throw new LoupeError(ErrorCode.NotFound, `no API key ${req.params.id}`);
      req.log.info({ key_id: req.params.id }, 'API key revoked');
      return { id: req.params.id, revoked: true as const, already: outcome === 'already revoked' };
    },
  );
};
