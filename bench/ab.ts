// A/B of one server setting on one model and concurrency, in one run (same machine state):
//   node bench/ab.ts resnet18 16 LOUPE_ORT_SPINNING=true LOUPE_ORT_SPINNING=false
// NODE_ARGS=… (space-separated) are flags for node itself, e.g. NODE_ARGS=--optimize-for-size;
// NODE_ARGS= is the baseline. The built CLI runs: `npm run build` first.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load, multipartBody } from './lib/load.ts';
import { rssBytes, startServer } from './lib/server.ts';

const [model = 'resnet18', conc = '16', ...variants] = process.argv.slice(2);
const STORE = path.resolve(import.meta.dirname, '.cache', 'model-store');
const body = multipartBody(readFileSync(path.join(import.meta.dirname, '.cache', 'photo-768x576.jpg')), 'photo.jpg');
for (let round = 0; round < 2; round++) {
  for (const v of variants) {
    // VAR=value pairs separated by commas; a value may itself hold '=' (NODE_OPTIONS=--flag=1).
    const env = Object.fromEntries(
      v.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const { NODE_ARGS: nodeArgs = '', ...serverEnv } = env;
    // PGlite on disk as users run it (its initdb runs in a child), so the peak is the load's.
    const data = mkdtempSync(path.join(os.tmpdir(), 'loupe-ab-'));
    const s = await startServer(
      { LOUPE_MODEL_STORE: STORE, LOUPE_DEFAULT_MODEL: model, LOUPE_DATA_DIR: data, ...serverEnv },
      nodeArgs.split(' ').filter(Boolean),
    );
    const mb = () => Math.round(rssBytes(s.child.pid!) / 1048576);
    const idle = mb();
    let peak = idle;
    const timer = setInterval(() => (peak = Math.max(peak, mb())), 100);
    await load(`${s.url}/predict?model=${model}`, body, Number(conc), 2);
    const r = await load(`${s.url}/predict?model=${model}`, body, Number(conc), 8);
    clearInterval(timer);
    console.log(
      `round ${round} ${v}: ${r.throughput.toFixed(1)} img/s p50 ${r.p50} ms, RSS idle ${idle} MB, peak under load ${peak} MB`,
    );
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
}
