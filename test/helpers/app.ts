import { keyIdOf, type KeyVerifier, type Principal, type Scope } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { buildApp, type App, type AppDeps } from '../../src/http/index.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { httpOptions, roleAdmission } from '../../src/roles/options.ts';
import { StubBackend } from './stub-backend.ts';

/**
 * The HTTP API over a StubBackend, not listening: routes, errors, limits and auth are tested
 * with Fastify's inject, without ONNX Runtime, a database or a socket (milliseconds a test).
 * What only a real model, database or connection can show stays in test/e2e.
 */
export async function stubApp(
  env: Record<string, string> = {},
  deps: Partial<AppDeps> = {},
  opts: { clientLimits?: boolean } = {},
): Promise<{ app: App; backend: StubBackend }> {
  const config = loadConfig({ LOUPE_LOG_LEVEL: 'silent', LOUPE_DEFAULT_MODEL: 'stub', ...env });
  const backend = deps.backend instanceof StubBackend ? deps.backend : new StubBackend();
  const app = await buildApp({
    options: httpOptions(config),
    logger: createLogger('silent', { pretty: false }),
    metrics: createMetrics(),
    backend,
    version: '0.0.0-test',
    // The roles' own admission rules, as serve builds them (client limits only where asked).
    admission: roleAdmission(config, { clientLimits: opts.clientLimits ?? false }),
    ...deps,
  });
  await app.ready();
  return { app, backend };
}

/** Keys as a KeyVerifier: `key` → its principal, with a Loupe key's own id (no database, no hashing). */
export function stubKeys(keys: Record<string, readonly Scope[]>): KeyVerifier & { lookups: number } {
  const verifier = {
    lookups: 0,
    async verify(key: string): Promise<Principal | undefined> {
      verifier.lookups++;
      const scopes = keys[key];
      return scopes ? { keyId: keyIdOf(key) ?? key.slice(0, 8), name: key, scopes } : undefined;
    },
  };
  return verifier;
}

/** A tiny valid PNG (1×1): what a client uploads when the bytes do not matter to the test. */
export const PNG_1x1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** A multipart/form-data body for inject: `file` plus text fields. */
export function multipart(
  file: Buffer | undefined,
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----loupe-test-boundary';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file)
    parts.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="x.png"\r\ncontent-type: image/png\r\n\r\n`,
      ),
      file,
      Buffer.from('\r\n'),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
