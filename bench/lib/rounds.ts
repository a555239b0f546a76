// Interleaved rounds: how every ratio the bench reports is measured. On a shared machine the
// rate moves by ±30 % within minutes, so one run of A then one of B can put a goal on either
// side of its line. Each variant runs in rounds that alternate with the others (A B, B A, A B,
// …: the order flips every round so neither always runs first, cancelling a steady drift), and a
// ratio is the median of the per-round ratios, shown with their min–max spread.

/** A sample's median and its full range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export const MIN_ROUNDS = 3;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * B against A from rounds run in pairs: round i's B over round i's A (the two ran next to each
 * other, so they shared the machine's state), summarised as median and range. Unpaired rounds
 * (one series shorter) are left out rather than guessed.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): Spread {
  const n = Math.min(a.length, b.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) if (a[i]! > 0 && Number.isFinite(b[i]!)) ratios.push(b[i]! / a[i]!);
  return spread(ratios);
}

/** The order of round `round`: as given on even rounds, reversed on odd ones. */
export function roundOrder<T>(variants: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...variants] : [...variants].reverse();
}

/**
 * Runs `run` for every variant in `rounds` interleaved rounds; results per variant in round
 * order. Fewer than MIN_ROUNDS rounds cannot show a spread worth the name and is refused.
 */
export async function interleave<V extends string, R>(
  variants: readonly V[],
  rounds: number,
  run: (variant: V, round: number) => Promise<R>,
): Promise<Record<V, R[]>> {
  if (!Number.isInteger(rounds) || rounds < MIN_ROUNDS)
    throw new RangeError(`interleaved rounds: at least ${MIN_ROUNDS}, got ${rounds}`);
  const out = Object.fromEntries(variants.map((v) => [v, [] as R[]])) as Record<V, R[]>;
  for (let round = 0; round < rounds; round++)
    for (const v of roundOrder(variants, round)) out[v].push(await run(v, round));
  return out;
}

/** "1.62× (1.41–1.80)" or, with `digits` and no unit, "60.4 (58.1–62.0)". */
export function formatSpread(s: Spread, digits = 1, unit = ''): string {
  if (s.n === 0) return '–';
  const f = (x: number) => x.toFixed(digits);
  return s.n === 1 || s.min === s.max ? `${f(s.median)}${unit}` : `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

/** Whether a goal of `ratio ≥ goal` is met by the median, and whether the whole range agrees. */
export function verdict(
  s: Spread,
  goal: number,
): 'met' | 'missed' | 'met (not every round)' | 'missed (not every round)' {
  if (s.median >= goal) return s.min >= goal ? 'met' : 'met (not every round)';
  return s.max < goal ? 'missed' : 'missed (not every round)';
}
