// `npm run bench -- --int8-only`: fp32 vs int8 (bench/lib/precision.ts); results in
// int8.{json,md} and int8.png under the results directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { availableCpus } from '../../src/config/index.ts';
import { rangeBarChart } from './chart.ts';
import { precisionScenario } from './precision.ts';
import { precisionBars, precisionMarkdown } from './precision-report.ts';

/** The goal of issue #29: int8 at least this much faster than fp32 at high concurrency. */
export const INT8_GOAL = 1.6;

/**
 * The bench photo and `n - 1` seeded synthetic scenes (shapes on a coloured ground): the images
 * top-1 agreement is counted on. The bench models have random weights (no pretrained download
 * here), so agreement says how far quantization moves the argmax, not whether either is right.
 */
export async function agreementImages(photo: Buffer, n = 32): Promise<Buffer[]> {
  let seed = 29;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const hex = () =>
    `#${Math.floor(rnd() * 0xffffff)
      .toString(16)
      .padStart(6, '0')}`;
  const out = [photo];
  for (let i = 1; i < n; i++) {
    const shapes = Array.from({ length: 3 + Math.floor(rnd() * 5) }, () =>
      rnd() < 0.5
        ? `<circle cx="${rnd() * 320}" cy="${rnd() * 240}" r="${10 + rnd() * 80}" fill="${hex()}"/>`
        : `<rect x="${rnd() * 300}" y="${rnd() * 220}" width="${20 + rnd() * 160}" height="${20 + rnd() * 120}" fill="${hex()}"/>`,
    ).join('');
    out.push(
      await sharp({ create: { width: 320, height: 240, channels: 3, background: hex() } })
        .composite([{ input: Buffer.from(`<svg width="320" height="240">${shapes}</svg>`) }])
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  return out;
}

export async function int8Scenario(o: {
  store: string;
  results: string;
  models: string[];
  web: Buffer;
  seconds: number;
  rounds: number;
  high: number;
  batches: number[];
  env: Record<string, string>;
  log: (msg: string) => void;
}): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${availableCpus()} usable), Node ${process.version}`;
  o.log(`fp32 vs int8: ${o.models.join(', ')}; ${o.rounds} interleaved rounds of ${o.seconds}s at c=1 and c=${o.high}`);
  const models = await precisionScenario({
    store: o.store,
    models: o.models,
    image: o.web,
    agreementImages: await agreementImages(o.web),
    seconds: o.seconds,
    rounds: o.rounds,
    high: o.high,
    batches: o.batches,
    env: o.env,
    log: o.log,
  });
  const date = new Date().toISOString();
  const md = precisionMarkdown(models, {
    title: `### fp32 vs int8 ${date.slice(0, 16).replace('T', ' ')} UTC — ${machine}, ${o.rounds} interleaved rounds of ${o.seconds} s`,
    high: o.high,
    goal: INT8_GOAL,
  });
  mkdirSync(o.results, { recursive: true });
  writeFileSync(
    path.join(o.results, 'int8.json'),
    JSON.stringify({ date, machine, rounds: o.rounds, seconds: o.seconds, high: o.high, models }, null, 2) + '\n',
  );
  writeFileSync(path.join(o.results, 'int8.md'), md);
  writeFileSync(
    path.join(o.results, 'int8.png'),
    await rangeBarChart(
      precisionBars(models, o.high),
      `fp32 vs int8, end to end (bars: median, whiskers: min–max of ${o.rounds} rounds), ${date.slice(0, 10)}`,
      'images / s',
    ),
  );
  console.log(`\n${md}`);
}
