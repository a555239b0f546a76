import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export function fixtureTensor(name: string): { shape: number[]; data: number[] } {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.tensor.json`), 'utf8')) as {
    shape: number[];
    data: number[];
  };
}

/** Mean and max absolute difference of two equally long arrays. */
export function diff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}
