import { readFileSync } from 'node:fs';

// Flag values of the CLI's commands, checked as they are read: a bad one is a usage error (exit 2).

export class UsageError extends Error {}

export const int = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  // Beyond 2^53 - 1 a number rounds: --version 99999999999999999999 would publish 100000000000000000000.
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`--${flag} must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  return Number(v);
};
export const floats = (flag: string, v: string | undefined): number[] | undefined => {
  if (v === undefined) return undefined;
  const list = v.split(',').map(Number);
  if (list.some((x) => !Number.isFinite(x))) throw new UsageError(`--${flag} must be numbers separated by commas`);
  return list;
};
export const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined => {
  if (v !== undefined && !allowed.includes(v as T)) throw new UsageError(`--${flag} must be ${allowed.join(' or ')}`);
  return v as T | undefined;
};

export function readLabels(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .replace(/\r?\n$/, '')
      .split(/\r?\n/);
  } catch (err) {
    throw new UsageError(`--labels ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
