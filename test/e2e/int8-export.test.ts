import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { tempDir } from '../helpers/server.ts';

// training/quantize.py end to end on a tiny network with the two shapes that once broke the
// export: a residual Add (ONNX Runtime refused shape-[1] scales for QLinearAdd) and ReLU6 (its
// Clip stayed in fp32 with a range shared with the conv's). Needs Debian's python3-torch and
// python3-onnx (training/); skipped without them. ~10 s.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;

const SCRIPT = `
import json, sys, torch, onnx
sys.path.insert(0, "training")
from pathlib import Path
from quantize import export_int8
torch.manual_seed(0)

class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU6())
        self.b = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8))
        self.head = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))
    def forward(self, x):
        y = self.a(x)
        return self.head(torch.relu(y + self.b(y)))

out = Path(sys.argv[1])
x = torch.randn(4, 3, 16, 16)
fq, n = export_int8(Tiny().eval(), x[:1], [torch.randn(16, 3, 16, 16) for _ in range(4)], out / "model.onnx")
with torch.no_grad():
    ref = fq(x)
g = onnx.load(str(out / "model.onnx")).graph
weights = sorted(onnx.TensorProto.DataType.Name(i.data_type) for i in g.initializer if len(i.dims) > 1)
x.numpy().tofile(out / "x.f32")
print(json.dumps({"images": n, "weights": weights, "ref": ref.numpy().ravel().tolist(),
                  "ops": sorted({nd.op_type for nd in g.node})}))
`;

// CI installs Debian's torch and onnx and sets LOUPE_REQUIRE_TORCH=1: there a missing torch fails
// the run instead of skipping the only test of the quantizer.
if (process.env.LOUPE_REQUIRE_TORCH === '1' && !hasTorch)
  throw new Error('LOUPE_REQUIRE_TORCH=1 but /usr/bin/python3 cannot import torch and onnx');

describe('training/quantize.py', { skip: !hasTorch && 'no /usr/bin/python3 with torch and onnx' }, () => {
  it('writes a QDQ graph with int8 weights that ONNX Runtime loads, fuses and runs as PyTorch computes it', async () => {
    const dir = tempDir('loupe-int8-export-');
    const r = JSON.parse(
      execFileSync(PY, ['-c', SCRIPT, dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as { images: number; weights: string[]; ref: number[]; ops: string[] };
    assert.equal(r.images, 64);
    assert.deepEqual(r.weights, ['INT8', 'INT8', 'INT8'], 'every conv/linear weight stored as int8');
    assert.ok(r.ops.includes('QuantizeLinear') && r.ops.includes('DequantizeLinear'), r.ops.join(','));

    const optimized = path.join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
    });
    const buf = readFileSync(path.join(dir, 'x.f32'));
    const x = new ort.Tensor('float32', new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4), [4, 3, 16, 16]);
    const out = (await session.run({ input: x })).logits!.data as Float32Array;
    await session.release();
    // The fused int8 kernels round where the fake-quant model rounds: equal up to a few steps.
    const maxDiff = Math.max(...r.ref.map((v, i) => Math.abs(v - out[i]!)));
    assert.ok(maxDiff < 0.05 * Math.max(...r.ref.map(Math.abs)), `max |ort - torch| = ${maxDiff}`);
    // What ONNX Runtime's optimizer made of it: int8 kernels, the residual Add in int8, no Clip.
    const graph = readFileSync(optimized).toString('latin1');
    for (const op of ['QLinearConv', 'QLinearAdd']) assert.ok(graph.includes(op), `${op} in the optimized graph`);
    assert.ok(!graph.includes('Clip'), 'ReLU6 folded into the quantization range');
    rmSync(dir, { recursive: true, force: true });
  });
});
