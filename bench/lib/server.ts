import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// The built CLI, as `npm start` and the image run it (`npm run bench` builds first): the sources
// under Node's type stripping keep ~25 MB more resident per process, which users never pay.
const MAIN = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface BenchServer {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** One read of /metrics; the reader looks values up in it. */
  metrics(): Promise<MetricReader>;
}

export type MetricReader = (name: string, labels?: Record<string, string>) => number;

/** `loupe serve` as a child process, so the load generator does not share its event loop. */
export const startServer = (env: Record<string, string>, nodeArgs: string[] = []): Promise<BenchServer> =>
  startRole('serve', env, nodeArgs);

/** A Loupe role as a child process, started as the CLI starts it (its own runtime tuning included). */
export async function startRole(
  role: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, MAIN, role], {
    // One load generator is one client: per-client limits would measure themselves, not Loupe.
    env: {
      ...process.env,
      LOUPE_LOG_LEVEL: 'warn',
      LOUPE_RATE_LIMIT_PER_MINUTE: '0',
      LOUPE_MAX_INFLIGHT_PER_CLIENT: '0',
      // Several roles run at once here; a scenario that measures gRPC asks for a port.
      LOUPE_GRPC_PORT: 'off',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`server exited (${code})`))),
  );
  const ready = (async () => {
    for (let i = 0; i < 1200; i++) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server at ${url} not ready after 120 s`);
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  const metrics = async (): Promise<MetricReader> => {
    const lines = (await (await fetch(`${url}/metrics`)).text()).split('\n');
    return (name, labels = {}) => {
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      for (const line of lines) {
        if (!line.startsWith(name)) continue;
        const rest = line.slice(name.length);
        if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
        if (want.every((w) => rest.includes(w))) return Number(line.split(' ').at(-1));
      }
      return 0;
    };
  };
  const metric = async (name: string, labels?: Record<string, string>) => (await metrics())(name, labels);
  return {
    url,
    child,
    metric,
    metrics,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A process's resident memory (VmRSS) or its peak (VmHWM) from /proc, in bytes (throws once it is gone). */
export function rssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
