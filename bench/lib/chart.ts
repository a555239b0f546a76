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

/** RSS over time, one line per process the footprint scenario ran, as a PNG. */
export async function memoryChart(
  series: Array<{ name: string; points: Array<{ t: number; mb: number }> }>,
  goals: Array<{ name: string; mb: number }>,
  title: string,
): Promise<Buffer> {
  const values = series.flatMap((s) => s.points.map((p) => ({ process: s.name, t: p.t, mb: p.mb })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values },
        mark: { type: 'line' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since the process started' },
          y: { field: 'mb', type: 'quantitative', title: 'RSS (MB)' },
          color: { field: 'process', type: 'nominal', title: 'process', legend: { labelLimit: 240 } },
        },
      },
      {
        data: { values: goals },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        encoding: { y: { field: 'mb', type: 'quantitative' } },
      },
      {
        data: { values: goals },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555' },
        encoding: { y: { field: 'mb', type: 'quantitative' }, x: { datum: 0 }, text: { field: 'name' } },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return sharp(Buffer.from(await view.toSVG()))
    .png()
    .toBuffer();
}

export interface RangeBar {
  readonly model: string;
  readonly variant: string;
  readonly level: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median img/s per model, precision and load level as bars, the rounds' min–max as a whisker. */
export async function rangeBarChart(bars: RangeBar[], title: string, yTitle: string): Promise<Buffer> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values: bars },
    facet: { column: { field: 'level', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 300,
      encoding: {
        x: { field: 'model', type: 'nominal', title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'variant', type: 'nominal' },
        color: { field: 'variant', type: 'nominal', title: 'precision' },
      },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'median', type: 'quantitative', title: yTitle } } },
        {
          // Centred on its bar (a rule sits at the band's start unless told otherwise).
          mark: { type: 'rule', color: 'black', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'model', type: 'nominal', bandPosition: 0.5 },
            xOffset: { field: 'variant', type: 'nominal', bandPosition: 0.5 },
            y: { field: 'min', type: 'quantitative' },
            y2: { field: 'max' },
            color: { value: 'black' },
          },
        },
      ],
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return sharp(Buffer.from(await view.toSVG()))
    .png()
    .toBuffer();
}
