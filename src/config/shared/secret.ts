import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.ts';

/** A secret from a file (Docker/Compose/Kubernetes secrets); undefined when no file is named. */
export function readSecret(name: string, file: string): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: ${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: ${file})`,
    );
  }
}
