import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createLogger, type Logger } from '../../src/observability/index.ts';
import { ServeRole } from '../../src/roles/serve.ts';

export interface TestServer {
  readonly url: string;
  readonly role: ServeRole;
  stop(): Promise<void>;
}

/** A real `loupe serve` on a free loopback port, in this process. */
export async function startServe(
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
  opts: { logger?: Logger } = {},
): Promise<TestServer> {
  const config = loadConfig(
    // gRPC is on by default (Triton's 8001): tests take a free port, as for HTTP.
    {
      PORT: '0',
      LOUPE_GRPC_PORT: '0',
      HOST: '127.0.0.1',
      LOUPE_LOG_LEVEL: 'silent',
      LOUPE_DATA_DIR: 'memory://',
      ...env,
    },
    overrides,
  );
  const role = new ServeRole({
    config,
    logger: opts.logger ?? createLogger(config.LOUPE_LOG_LEVEL, { pretty: false }),
    version: '0.0.0-test',
  });
  await role.start();
  return { url: role.address, role, stop: () => role.stop() };
}

export function tempDir(prefix = 'loupe-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** multipart/form-data with the image as field `file`. */
export function form(bytes: Uint8Array, filename = 'image.bin', fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  f.append('file', new Blob([bytes]), filename);
  return f;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json<T = any>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}
