import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './flags.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, strict, with its errors said for people: an unknown flag names the closest known
 * one ("did you mean --top-k?"), a flag without its value says so. Node's own text (with its
 * advice about positionals that start with '-') is not what a mistyped flag needs.
 */
export function parseFlags<O extends Options>(args: readonly string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(flagProblem(err as Error & { code?: string }, options));
  }
}

function flagProblem(err: Error & { code?: string }, options: Options): string {
  const flag = /'(-{1,2}[^'\s]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const near = closest(flag.replace(/^-+/, '').split('=')[0]!, Object.keys(options));
    return `unknown flag ${flag}${near ? `; did you mean --${near}?` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    const name = flag.replace(/^-+/, '');
    return options[name]?.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return 'this command takes no arguments';
  return err.message;
}

/** The known name nearest to `given`, if it is near enough to be a typo (or `given` is its start). */
export function closest(given: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = name.startsWith(given) && given.length >= 2 ? 0.5 : distance(given, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(given.length / 3)) ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swapped neighbours each cost 1. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}
