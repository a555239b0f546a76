import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const run = promisify(execFile);

/**
 * Which builder the container tests use: DOCKER_BUILDKIT from the environment when set (here:
 * `DOCKER_BUILDKIT=1` with Debian's 20.10 CLI uses the engine's own BuildKit); else BuildKit
 * when the CLI has buildx (GitHub's runners, where the classic builder is deprecated); else the
 * classic builder (a current CLI without buildx refuses to build at all otherwise). The tests
 * assert on the images built, never on either builder's log lines, so they hold for both.
 */
export const builderEnv: { DOCKER_BUILDKIT?: string } = (() => {
  if (process.env.DOCKER_BUILDKIT !== undefined) return { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT };
  const buildx = spawnSync('docker', ['buildx', 'version'], { stdio: 'ignore' });
  return buildx.status === 0 ? {} : { DOCKER_BUILDKIT: '0' };
})();
export const usesBuildKit = builderEnv.DOCKER_BUILDKIT !== '0';

/** Runs the docker CLI; throws with its stderr on failure. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...builderEnv },
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

/** `docker build` streaming its log (long builds show progress), returning the output (for errors only). */
export function dockerBuild(args: string[], onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['build', ...args], { env: { ...process.env, ...builderEnv } });
    let out = '';
    const take = (d: Buffer) => {
      const s = d.toString();
      out += s;
      for (const line of s.split('\n')) if (line.trim() && onLine) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`docker build failed (${code}):\n${out.slice(-4000)}`)),
    );
  });
}

export async function waitHealthy(container: string, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const status = await docker(
      'inspect',
      '-f',
      '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}',
      container,
    );
    if (status === 'healthy') return Date.now() - start;
    if (status === 'exited' || status === 'dead' || status === 'unhealthy') {
      throw new Error(
        `container ${container} is ${status}:\n${await docker('logs', '--tail', '50', container).catch(() => '')}`,
      );
    }
    await sleep(100);
  }
  throw new Error(
    `container ${container} not healthy after ${timeoutMs} ms:\n${await docker('logs', '--tail', '50', container).catch(() => '')}`,
  );
}

/** Polls an HTTP URL until it answers 200. */
export async function waitHttp(url: string, timeoutMs = 60_000, everyMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - start;
    } catch {
      /* not up yet */
    }
    if (Date.now() - start > timeoutMs) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The base image for builds here: the official pinned one if present, else the offline stand-in. */
export async function baseImage(): Promise<string> {
  if (process.env.LOUPE_BASE_IMAGE) return process.env.LOUPE_BASE_IMAGE;
  const official = 'node:24.21.0-trixie-slim';
  try {
    await docker('image', 'inspect', official);
    return official;
  } catch {
    return 'loupe-offline/node:24-trixie-slim';
  }
}

/** Predictions one model-server container answered (its own /metrics, read from inside: no published port). */
export async function servedPredictions(container: string): Promise<number> {
  const text = await docker(
    'exec',
    container,
    'node',
    '-e',
    "fetch('http://127.0.0.1:8000/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))",
  );
  return text
    .split('\n')
    .filter((l) => l.startsWith('loupe_predictions_total'))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}
