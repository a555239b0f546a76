import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Point {
  readonly series: string;
  readonly concurrency: number;
  readonly throughput: number;
}

/** Throughput vs concurrency, one line per model and dashed raw bounds, as a PNG. */
export async function throughputChart(
  points: Point[],
  bounds: Array<{ series: string; bound: number }>,
  title: string,
): Promise<Buffer> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'concurrency',
            type: 'quantitative',
            scale: { type: 'log', base: 2 },
            axis: { values: [1, 4, 16, 64], title: 'concurrent clients' },
          },
          y: { field: 'throughput', type: 'quantitative', title: 'images / s (end to end, real JPEG uploads)' },
          color: { field: 'series', type: 'nominal', title: 'model' },
        },
      },
      {
        data: { values: bounds },
        mark: { type: 'rule', strokeDash: [4, 4] },
        encoding: { y: { field: 'bound', type: 'quantitative' }, color: { field: 'series', type: 'nominal' } },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  return sharp(Buffer.from(svg)).png().toBuffer();
}
