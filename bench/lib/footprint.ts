// The footprint scenario of `npm run bench` (alone: `npm run bench -- --footprint-only`): what
// one replica of each role costs in memory, as a user runs it (the CLI with its own runtime
// tuning, PGlite on disk for serve). RSS is read from /proc every 100 ms: idle is the median
// second after start-up has settled, peak the highest sample while 16 clients upload the web
// photo for the bench's level length; serve is measured on its second start (the first on an
// empty data directory also runs initdb). Gateway and worker need PostgreSQL (--database-url).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from './load.ts';
import { rssBytes, startRole, type BenchServer } from './server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const CONCURRENCY = 16;

/** The issue's goals (MB): idle per role, peak under load per serve model. */
export const GOALS = {
  idle: { serve: 250, 'model-server': 150, gateway: 120, worker: 120 } as Record<string, number>,
  peak: { 'fashion-mnist': 350, resnet18: 400 } as Record<string, number>,
};

export interface FootprintRow {
  readonly role: string;
  readonly model: string;
  readonly idle_mb: number;
  /** serve: idle right after the first start on an empty data directory (initdb ran in-process). */
  readonly first_start_idle_mb?: number;
  readonly peak_mb: number | null;
  readonly img_s: number | null;
  /** The pipeline bound B of this model measured in the same run, when known. */
  bound_img_s: number | null;
  /** Images per ONNX Runtime call under the load (what B's inference term is measured at). */
  readonly mean_batch: number | null;
}

export interface RssSeries {
  readonly name: string;
  readonly points: Array<{ t: number; mb: number }>;
}

export interface FootprintOptions {
  readonly store: string;
  readonly models: string[];
  readonly body: { body: Buffer; contentType: string };
  readonly seconds: number;
  readonly env: Record<string, string>;
  readonly databaseUrl: string;
  /** B per model, from the throughput part of the run (or measured by the caller). */
  readonly bounds: Record<string, number>;
  readonly log: (msg: string) => void;
}

/** Samples a process's RSS until stopped; times are seconds since `t0`. */
function sampler(pid: number, t0: number) {
  const points: Array<{ t: number; mb: number }> = [];
  const read = () => {
    try {
      const bytes = rssBytes(pid);
      if (bytes > 0)
        points.push({ t: Math.round((performance.now() - t0) / 100) / 10, mb: Math.round(bytes / 1048576) });
    } catch {
      // the process is gone: nothing more to read
    }
  };
  read();
  const timer = setInterval(read, 100);
  return {
    points,
    stop: () => clearInterval(timer),
    /** Median of the samples taken in the last `ms`. */
    settled: (ms: number) => median(points.filter((p) => p.t >= points.at(-1)!.t - ms / 1000).map((p) => p.mb)),
  };
}

async function started(role: string, env: Record<string, string>) {
  const t0 = performance.now();
  const server = await startRole(role, env);
  const rss = sampler(server.child.pid!, t0);
  await sleep(4000); // lazy loads, the first pg-boss poll, V8's first GCs
  return { server, rss, idle: rss.settled(1000) };
}

export async function footprint(o: FootprintOptions): Promise<{ rows: FootprintRow[]; series: RssSeries[] }> {
  const rows: FootprintRow[] = [];
  const series: RssSeries[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-footprint-'));
  const stop = async (name: string, s: { server: BenchServer; rss: ReturnType<typeof sampler> }) => {
    await s.server.stop();
    s.rss.stop();
    series.push({ name, points: s.rss.points });
  };
  try {
    for (const model of o.models) {
      const store = path.join(tmp, `store-${model}`);
      mkdirSync(store);
      symlinkSync(path.join(o.store, model), path.join(store, model));
      o.log(`footprint: serve with ${model} alone, idle, then ${CONCURRENCY} clients for ${o.seconds}s`);
      const env = {
        ...o.env,
        LOUPE_GRPC_PORT: '0', // on, as by default (on a free port)
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: model,
        LOUPE_DATA_DIR: path.join(tmp, `data-${model}`),
      };
      // The first start of a fresh data directory also runs PostgreSQL's initdb in the process;
      // what a replica costs is every later start, measured second.
      const first = await started('serve', env);
      await first.server.stop();
      first.rss.stop();
      const s = await started('serve', env);
      const from = s.rss.points.length;
      const batches = async () => {
        const read = await s.server.metrics();
        return [read('loupe_batch_size_count'), read('loupe_batch_size_sum')] as const;
      };
      const [n0, sum0] = await batches();
      const r = await load(`${s.server.url}/predict`, o.body, CONCURRENCY, o.seconds);
      const [n1, sum1] = await batches();
      const peak = Math.max(...s.rss.points.slice(from).map((p) => p.mb));
      await stop(`serve · ${model}`, s);
      rows.push({
        role: 'serve',
        model,
        idle_mb: s.idle,
        first_start_idle_mb: first.idle,
        peak_mb: peak,
        img_s: r.throughput,
        bound_img_s: o.bounds[model] ?? null,
        mean_batch: n1 > n0 ? (sum1 - sum0) / (n1 - n0) : null,
      });
      o.log(`  idle ${s.idle} MB (first start ${first.idle} MB), peak ${peak} MB, ${r.throughput.toFixed(1)} img/s`);
    }
    const model = o.models[0]!;
    const msEnv = { ...o.env, LOUPE_MODEL_STORE: path.join(tmp, `store-${model}`), LOUPE_DEFAULT_MODEL: model };
    const ms = await started('model-server', msEnv);
    rows.push({ role: 'model-server', model, idle_mb: ms.idle, ...NO_LOAD });
    o.log(`footprint: model-server idle ${ms.idle} MB`);
    try {
      if (!o.databaseUrl) {
        o.log('footprint: gateway and worker skipped (they need PostgreSQL: --database-url)');
      } else {
        // The model server runs as in Compose (gRPC off); the gateway and worker with their defaults.
        const dbEnv = {
          ...o.env,
          LOUPE_GRPC_PORT: '0',
          LOUPE_DATABASE_URL: o.databaseUrl,
          LOUPE_MODEL_SERVER_URL: ms.server.url,
        };
        execFileSync(process.execPath, [MAIN, 'migrate'], {
          env: { ...process.env, ...dbEnv, LOUPE_LOG_LEVEL: 'warn' },
          stdio: 'inherit',
        });
        for (const role of ['gateway', 'worker']) {
          const s = await started(role, dbEnv);
          await stop(role, s);
          rows.push({ role, model, idle_mb: s.idle, ...NO_LOAD });
          o.log(`footprint: ${role} idle ${s.idle} MB`);
        }
      }
    } finally {
      await stop('model-server', ms);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { rows, series };
}

const NO_LOAD = { peak_mb: null, img_s: null, bound_img_s: null, mean_batch: null } as const;
const mark = (ok: boolean) => (ok ? '✅' : '❌');

export function footprintMarkdown(rows: FootprintRow[], heading: string): string {
  const lines = [
    heading,
    '',
    `| role | model | idle RSS | idle, first start | peak RSS, ${CONCURRENCY} clients | img/s meanwhile | goal |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const idleGoal = r.role === 'serve' && r.model !== 'fashion-mnist' ? undefined : GOALS.idle[r.role];
    const peakGoal = r.role === 'serve' ? GOALS.peak[r.model] : undefined;
    const goals = [
      idleGoal !== undefined ? `idle ≤ ${idleGoal} MB ${mark(r.idle_mb <= idleGoal)}` : '',
      peakGoal !== undefined && r.peak_mb !== null ? `peak ≤ ${peakGoal} MB ${mark(r.peak_mb <= peakGoal)}` : '',
    ].filter(Boolean);
    lines.push(
      `| ${r.role} | ${r.model} | ${r.idle_mb} MB | ${r.first_start_idle_mb !== undefined ? `${r.first_start_idle_mb} MB` : '—'} | ${r.peak_mb ?? '—'}${r.peak_mb !== null ? ' MB' : ''} | ${r.img_s?.toFixed(1) ?? '—'} | ${goals.join(', ') || '—'} |`,
    );
  }
  // One load per row, not rounds: the img/s says what the peak was measured under; no ratio to
  // B is drawn from it (the throughput table's come from interleaved rounds).
  lines.push(
    '',
    'img/s meanwhile: what the peak was measured under (one run); throughput against B is in the interleaved main table.',
  );
  return lines.join('\n') + '\n';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}
