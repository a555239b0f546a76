// The upload-memory scenario of `npm run bench` (alone: `npm run bench -- --uploads-only`):
// against a fresh `loupe serve` with default limits and PGlite on disk, as `npm start` runs it,
// 200 concurrent POST /predict of LOUPE_MAX_UPLOAD_BYTES each and one chunked POST /jobs of
// 1.3 GB arrive at once. The server's RSS is read from /proc (its peak from VmHWM) against its
// idle RSS in the same run. Bounded: 201 requests, each cut after 60 s. Neither body is held in
// this process: the uploads share one buffer, the job body is made of one image as it is sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigSchema } from '../../src/config/index.ts';
import { rssBytes, startServer } from './server.ts';

const MB = 1e6;
const UPLOADS = 200;
const JOB_BYTES = 1.3e9;
const TIMEOUT_MS = 60_000;
const GOAL_MB = 300;
const defaults = (k: keyof typeof ConfigSchema.properties) =>
  (ConfigSchema.properties[k] as unknown as { default: number }).default;

export interface UploadReport {
  readonly date: string;
  readonly limits: Record<string, number>;
  readonly idle_rss_mb: number;
  readonly peak_rss_mb: number;
  readonly settled_rss_mb: number;
  readonly delta_mb: number;
  readonly seconds: number;
  readonly uploads: Record<string, number>;
  readonly job: { status: string; sent_mb: number; ms: number };
  readonly rss_samples_mb: number[];
}

/** A JPEG padded with comment segments (decoders skip them) to exactly `size` bytes. */
export function padJpeg(jpeg: Buffer, size: number): Buffer {
  let remaining = size - jpeg.length;
  const n = Math.ceil(remaining / 65_537);
  const segments = Array.from({ length: n }, (_, i) => {
    const s = Math.floor(remaining / (n - i));
    remaining -= s;
    const seg = Buffer.alloc(s, 0x20);
    seg.writeUInt16BE(0xfffe, 0); // COM
    seg.writeUInt16BE(s - 2, 2);
    return seg;
  });
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

const rssOf = (pid: number, field: 'VmRSS' | 'VmHWM') => rssBytes(pid, field) / MB;

// Keep-alive, as curl and browsers send: a refused upload's connection is drained for a while
// after the answer (the client reads it, not a reset); `Connection: close` would end it at once.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** One POST; resolves with its status or the error's code, never rejects. */
function post(url: URL, headers: http.OutgoingHttpHeaders, send: (req: http.ClientRequest) => Promise<void>) {
  return new Promise<{ status: string; ms: number }>((resolve) => {
    const started = Date.now();
    const done = (status: string) => resolve({ status, ms: Date.now() - started });
    const req = http.request(url, { method: 'POST', headers, agent, timeout: TIMEOUT_MS });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done(String(res.statusCode)));
      res.on('error', () => done(String(res.statusCode)));
    });
    send(req).catch(() => undefined);
  });
}

/** Resolves when the request can take more, is answered or is gone. */
function writable(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const events = ['drain', 'response', 'close'] as const;
    const go = () => {
      for (const e of events) req.off(e, go);
      resolve();
    };
    for (const e of events) req.once(e, go);
  });
}

/** The chunked POST /jobs: parts of `image` until `total` bytes are sent or the server answers. */
function hugeJob(url: URL, image: Buffer, total: number, sent: { bytes: number }) {
  const boundary = 'loupe-bench-upload';
  const head = (i: number) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${i}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
  let answered = false;
  return post(url, { 'content-type': `multipart/form-data; boundary=${boundary}` }, async (req) => {
    req.once('response', () => (answered = true));
    for (let i = 0; sent.bytes < total && !answered && !req.destroyed; i++) {
      for (const piece of [head(i), image, Buffer.from('\r\n')]) {
        sent.bytes += piece.length;
        if (!req.write(piece)) await writable(req);
      }
    }
    if (!answered && !req.destroyed) req.end(`--${boundary}--\r\n`);
  });
}

export async function uploadScenario(
  store: string,
  model: string,
  photo: Buffer,
  log: (msg: string) => void,
): Promise<UploadReport> {
  const maxUpload = defaults('LOUPE_MAX_UPLOAD_BYTES');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-uploads-'));
  const server = await startServer({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: model, LOUPE_DATA_DIR: dataDir });
  const pid = server.child.pid!;
  try {
    const image = padJpeg(photo, maxUpload);
    const boundary = 'loupe-bench-predict';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="max.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      image,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const predictUrl = new URL(`${server.url}/predict`);
    const headers = { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length };
    const one = () => post(predictUrl, headers, async (req) => void req.end(body));
    // Warm: the model and the decoder have run once; then idle.
    for (let i = 0; i < 2; i++) log(`  warm-up upload: ${(await one()).status}`);
    await sleep(3000);
    const idle = rssOf(pid, 'VmRSS');
    // The peak from now on, as the kernel counts it (no sample can miss it); sampled as well.
    let hwm = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      hwm = false;
    }
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssOf(pid, 'VmRSS')), 100);
    log(
      `uploads: idle RSS ${idle.toFixed(0)} MB; ${UPLOADS} × ${maxUpload} B to /predict and ${JOB_BYTES / 1e9} GB chunked to /jobs`,
    );
    const started = Date.now();
    const sent = { bytes: 0 };
    // The job first: once it is under way (its images going to the database), the uploads.
    const job = hugeJob(new URL(`${server.url}/jobs`), image, JOB_BYTES, sent);
    while (sent.bytes < 3 * maxUpload && Date.now() - started < TIMEOUT_MS) await sleep(10);
    const uploads = await Promise.all(Array.from({ length: UPLOADS }, one));
    const jobAnswer = await job;
    const seconds = (Date.now() - started) / 1000;
    await sleep(3000);
    clearInterval(sampler);
    const settled = rssOf(pid, 'VmRSS');
    const peak = Math.max(hwm ? rssOf(pid, 'VmHWM') : 0, ...samples);
    const counts: Record<string, number> = {};
    for (const u of uploads) counts[u.status] = (counts[u.status] ?? 0) + 1;
    return {
      date: new Date().toISOString(),
      limits: {
        LOUPE_MAX_UPLOAD_BYTES: maxUpload,
        LOUPE_MAX_JOB_BYTES: defaults('LOUPE_MAX_JOB_BYTES'),
        LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: defaults('LOUPE_MAX_INFLIGHT_UPLOAD_BYTES'),
      },
      idle_rss_mb: Math.round(idle),
      peak_rss_mb: Math.round(peak),
      settled_rss_mb: Math.round(settled),
      delta_mb: Math.round(peak - idle),
      seconds,
      uploads: counts,
      job: { status: jobAnswer.status, sent_mb: Math.round(sent.bytes / MB), ms: jobAnswer.ms },
      rss_samples_mb: samples.filter((_, i) => i % 10 === 0).map(Math.round),
    };
  } finally {
    agent.destroy();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Whether only statuses a client can act on came back: 2xx, 4xx, 503. */
export const cleanStatuses = (r: UploadReport) =>
  [r.job.status, ...Object.keys(r.uploads)].every((s) => /^(2\d\d|4\d\d|503)$/.test(s));

export function uploadMarkdown(r: UploadReport, machine: string): string {
  const ok = r.delta_mb <= GOAL_MB && cleanStatuses(r);
  const statuses = Object.entries(r.uploads)
    .sort()
    .map(([s, n]) => `${n} × ${s}`)
    .join(', ');
  return [
    `### Upload memory ${r.date.slice(0, 16).replace('T', ' ')} UTC — ${machine}`,
    '',
    `${UPLOADS} concurrent POST /predict of ${r.limits.LOUPE_MAX_UPLOAD_BYTES} bytes (a 12 MP JPEG padded to the limit) and one chunked POST /jobs of ${JOB_BYTES / 1e9} GB of such images, at once, against \`loupe serve\` with default limits (job cap ${r.limits.LOUPE_MAX_JOB_BYTES} B, upload budget ${r.limits.LOUPE_MAX_INFLIGHT_UPLOAD_BYTES} B) and PGlite on disk.`,
    '',
    '| idle RSS | peak RSS | delta | settled RSS (3 s after) | /predict answers | POST /jobs answer | took |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    `| ${r.idle_rss_mb} MB | ${r.peak_rss_mb} MB | ${r.delta_mb} MB | ${r.settled_rss_mb} MB | ${statuses} | ${r.job.status} after ${r.job.sent_mb} MB sent, ${r.job.ms} ms | ${r.seconds.toFixed(1)} s |`,
    '',
    `Goal: peak within ${GOAL_MB} MB of idle and only 2xx/4xx/503 answers ${ok ? '✅' : '❌'}`,
    '',
  ].join('\n');
}
