import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { builderEnv } from './docker.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** docker-compose (v1.29 here; the file is Compose-spec and works with v2 too) for one project. */
export function composeFor(project: string, env: Record<string, string>) {
  const base = ['-p', project, '-f', path.join(ROOT, 'compose.yaml')];
  return async (...args: string[]): Promise<string> => {
    try {
      const { stdout, stderr } = await run('docker-compose', [...base, ...args], {
        cwd: ROOT,
        // Compose v1.29 builds through the docker CLI only when told to (then with its builder).
        env: { ...process.env, ...env, ...builderEnv, COMPOSE_DOCKER_CLI_BUILD: builderEnv.DOCKER_BUILDKIT ?? '1' },
        maxBuffer: 32 * 1024 * 1024,
      });
      return (stdout + stderr).trim();
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`docker-compose ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: err });
    }
  };
}
