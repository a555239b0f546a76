import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { loadConfig } from '../../../src/config/index.ts';
import { createSession, optimizeInChild, type SessionOptions } from '../../../src/inference/local/index.ts';
import { tempDir } from '../../helpers/server.ts';

// The shipped CNN: convolutions, so the optimizer really rewrites the graph (NCHWc, fusions).
const MODEL = path.resolve(import.meta.dirname, '../../../model-store/fashion-mnist/1/model.onnx');
const OPTS: SessionOptions = { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'] };

// ONNX Runtime itself leaves files in TMPDIR (an empty mat-debug-<pid>.log, .ses); only ours count.
const graphDirs = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('loupe-graph-'));

async function logits(session: ort.InferenceSession): Promise<Float32Array> {
  const n = 3;
  const x = Float32Array.from({ length: n * 28 * 28 }, (_, i) => Math.sin(i * 0.37));
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe('graph optimization in a child process', () => {
  // os.tmpdir() follows TMPDIR, so each test sees what the optimizer leaves behind.
  const savedTmp = process.env.TMPDIR;
  let tmp: string;
  before(() => {
    tmp = tempDir();
    process.env.TMPDIR = tmp;
  });
  after(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });

  it('is on by default', () => {
    assert.equal(loadConfig({}).LOUPE_ORT_OPTIMIZE_IN_CHILD, true);
  });

  it('serves the same outputs as the graph optimized in-process, and leaves no file behind', async () => {
    const child = await createSession(MODEL, { ...OPTS, optimizeInChild: true });
    const inProcess = await createSession(MODEL, OPTS);
    try {
      assert.deepEqual(child.optimized, { where: 'child' });
      assert.deepEqual(inProcess.optimized, { where: 'in-process' });
      assert.deepEqual(child.inputs, inProcess.inputs);
      assert.deepEqual(child.outputs, inProcess.outputs);
      const [a, b] = [await logits(child.session), await logits(inProcess.session)];
      assert.equal(a.length, 30);
      assert.deepEqual(Array.from(a), Array.from(b));
      assert.deepEqual(graphDirs(tmp), []);
    } finally {
      await child.session.release();
      await inProcess.session.release();
    }
  });

  it('falls back to optimizing in-process, with the reason, when the child cannot run', async () => {
    process.env.TMPDIR = path.join(tmp, 'missing');
    try {
      const s = await createSession(MODEL, { ...OPTS, optimizeInChild: true });
      assert.equal(s.optimized.where, 'in-process');
      assert.match(s.optimized.error ?? '', /no temporary directory/);
      assert.equal((await logits(s.session)).length, 30);
      await s.session.release();
    } finally {
      process.env.TMPDIR = tmp;
    }
  });

  it('writes a graph ONNX Runtime has rewritten for this CPU (NCHWc layout, fused convolutions)', async () => {
    const r = await optimizeInChild(MODEL);
    assert.equal(typeof r, 'object', String(r));
    const g = r as Exclude<typeof r, string>;
    try {
      const bytes = readFileSync(g.path);
      assert.ok(
        bytes.includes('com.microsoft.nchwc') || bytes.includes('FusedConv'),
        'no optimizer rewrite in the graph',
      );
      assert.ok(!readFileSync(MODEL).includes('com.microsoft.nchwc'));
    } finally {
      g.dispose();
    }
    assert.deepEqual(graphDirs(tmp), []);
  });

  it("reports the child's own error, in one line, for a file ONNX Runtime cannot read", async () => {
    const bad = path.join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not an ONNX model');
    const r = await optimizeInChild(bad);
    assert.equal(typeof r, 'string');
    assert.match(r as string, /^the graph optimizer's child process failed: .*(protobuf|parse|model)/i);
    assert.doesNotMatch(r as string, /Node\.js v\d/);
    assert.deepEqual(graphDirs(tmp), []);
  });

  it('gives up on a child that takes too long, and cleans up after it', async () => {
    const r = await optimizeInChild(MODEL, 1);
    assert.match(String(r), /took longer than 0 s/);
    assert.deepEqual(graphDirs(tmp), []);
  });

  it('removes what a killed server left behind, and only what no live load can own', async () => {
    const old = mkdtempSync(path.join(tmp, 'loupe-graph-'));
    const fresh = mkdtempSync(path.join(tmp, 'loupe-graph-'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, hourAgo, hourAgo);
    const r = await optimizeInChild(MODEL);
    assert.equal(typeof r, 'object', String(r));
    (r as Exclude<typeof r, string>).dispose();
    assert.deepEqual(graphDirs(tmp), [path.basename(fresh)]);
    rmSync(fresh, { recursive: true });
  });
});
