"""Static int8 quantization of a PyTorch model into a QDQ ONNX graph, with PyTorch's own tooling.

FX graph mode (torch.ao.quantization): batch norm is folded into the convolutions, prepare_qat_fx
puts observer-backed FakeQuantize modules on weights and activations, a few hundred images of
the model's domain set the activation ranges (fake-quant off while observing), and the ONNX
exporter writes every fake-quant as a QuantizeLinear/DequantizeLinear pair (opset 13 for the
per-channel weight scales). ONNX Runtime fuses that QDQ pattern into its int8 kernels
(QLinearConv, QLinearAdd, QGemm, ...) when it optimizes the graph (Loupe's child optimizer,
src/inference/local/optimize.ts). See export_int8 for why not convert_to_reference_fx.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

# Per-channel symmetric int8 weights (zero point 0, as ONNX Runtime's U8S8 kernels want) and
# per-tensor uint8 activations over the full 8 bits: VNNI's dot products do not saturate, so
# there is no need for the 7-bit reduce_range that fbgemm's default keeps for AVX2-only CPUs
# (where ONNX Runtime's U8S8 path can saturate; quantize with reduce_range for those).
OPSET = 13


def qconfig_mapping():
    from torch.ao.quantization import FakeQuantize, QConfig, QConfigMapping
    from torch.ao.quantization.observer import HistogramObserver, PerChannelMinMaxObserver

    qconfig = QConfig(
        activation=FakeQuantize.with_args(observer=HistogramObserver, quant_min=0, quant_max=255,
                                          dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False),
        weight=FakeQuantize.with_args(observer=PerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                      dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0),
    )
    return QConfigMapping().set_global(qconfig)


def backend_config():
    """PyTorch's native backend config, except that ReLU6 / Hardtanh get an observer of their own.

    The default shares the input's observer with the output (right for fbgemm's own kernels), so
    the QuantizeLinear after MobileNetV2's ReLU6 carried the convolution's range, negatives and
    all (zero point ~120): half the uint8 codes spent on values ReLU6 removes, and ONNX Runtime
    cannot drop a Clip whose Q range goes below 0, so 31 Clips stayed in fp32 between a
    DequantizeLinear and a QuantizeLinear. With their own [0, 6] range the Clips fold away."""
    from torch.ao.quantization.backend_config import ObservationType, get_native_backend_config

    config = get_native_backend_config()
    for pattern, pattern_config in config.configs.items():
        if pattern_config.observation_type == ObservationType.OUTPUT_SHARE_OBSERVER_WITH_INPUT and \
                any(k in str(pattern).lower() for k in ("relu6", "hardtanh")):
            pattern_config.set_observation_type(ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT)
    return config


def export_int8(model: torch.nn.Module, example: torch.Tensor, batches: Iterable[torch.Tensor], onnx_path: Path,
                *, input_name: str = "input", output_name: str = "logits") -> tuple[torch.nn.Module, int]:
    """Calibrates `model` (float) on `batches`, writes the QDQ ONNX graph to `onnx_path` and
    returns the fake-quantized model (it computes what the int8 graph computes) and the image count.

    Why fake-quant modules rather than convert_to_reference_fx: PyTorch 1.13's ONNX exporter has
    no symbolic for quantize_per_channel and trips over the reference modules' qscheme state, while
    fake_quantize_per_{tensor,channel}_affine export as QuantizeLinear/DequantizeLinear pairs (the
    path NVIDIA's and PyTorch's QDQ exports take). Batch norm is folded into the convolutions first
    (inference form), so the QAT-style modules hold plain Conv weights and no BN statistics move."""
    from torch.ao.quantization import disable_fake_quant, disable_observer, enable_fake_quant, enable_observer
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    from torch.fx.experimental.optimization import fuse

    fused = fuse(model.eval())
    prepared = prepare_qat_fx(fused.train(), qconfig_mapping(), example_inputs=(example,),
                              backend_config=backend_config())
    prepared.eval()  # dropout off; observers still record while enabled
    prepared.apply(enable_observer)
    prepared.apply(disable_fake_quant)
    seen = 0
    with torch.no_grad():
        for b in batches:
            prepared(b)
            seen += len(b)
            print(f"\rcalibrating: {seen} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    prepared.apply(disable_observer)
    prepared.apply(enable_fake_quant)
    torch.onnx.export(prepared, example, str(onnx_path), input_names=[input_name], output_names=[output_name],
                      dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=OPSET,
                      do_constant_folding=True)
    fold_weight_quantization(onnx_path)
    return prepared, seen


def qdq_summary(onnx_path: Path) -> dict[str, int]:
    """Counts of the graph's quantization nodes, to show the export really is QDQ."""
    import onnx

    ops: dict[str, int] = {}
    for node in onnx.load(str(onnx_path)).graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops


def onnx_top1(onnx_path: Path, input_name: str, x: np.ndarray) -> np.ndarray:
    """Top-1 class of every row of `x` from ONNX Runtime (onnxruntime-node, as Loupe serves it)."""
    from common import REPO_ROOT

    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "in.f32"
        x.astype(np.float32).tofile(data)
        res = subprocess.run(["node", str(REPO_ROOT / "training" / "onnx_eval.mjs"), str(onnx_path), input_name,
                              str(data), ",".join(map(str, x.shape))],
                             capture_output=True, text=True, cwd=REPO_ROOT)
    if res.returncode != 0:
        sys.exit(f"ONNX Runtime could not run {onnx_path.name}: {res.stderr.strip()[-800:]}")
    return np.array(json.loads(res.stdout)["top1"], dtype=np.int64)


def calibration_from_dir(directory: str, limit: int, prep: Callable[[object], torch.Tensor],
                         seed: int = 0) -> list[torch.Tensor]:
    """Up to `limit` images found under `directory` (any depth), preprocessed by `prep` (a PIL
    image -> CHW tensor, the model's own preprocessing), in a seeded random order."""
    from PIL import Image, ImageOps

    files = sorted(p for p in Path(directory).rglob("*") if p.is_file())
    random.Random(seed).shuffle(files)
    out = []
    for f in files:
        if len(out) >= limit:
            break
        try:
            out.append(prep(ImageOps.exif_transpose(Image.open(f)).convert("RGB")))
        except Exception:  # not an image: skipped, as torchvision's ImageFolder would refuse it
            continue
    return out


def batched(items: list[torch.Tensor], size: int = 32) -> list[torch.Tensor]:
    return [torch.stack(items[i:i + size]) for i in range(0, len(items), size)]


def load_onnx_weights(model: torch.nn.Module, onnx_path: Path) -> None:
    """Puts the weights of an fp32 export of `model`'s own architecture back into it: the k-th
    Conv/Gemm node of the graph fills the k-th Conv2d/Linear module. The export folded batch
    norm into the convolutions, so a BatchNorm2d after a bias-less Conv2d becomes the identity
    carrying the folded bias (exact: (x - 0) / sqrt(1 - eps + eps) * 1 + bias)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(onnx_path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    nodes = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
    mods = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    if len(nodes) != len(mods):
        sys.exit(f"{onnx_path}: {len(nodes)} Conv/Gemm nodes, the architecture has {len(mods)} layers")
    bns = {}
    prev = None
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and isinstance(prev, torch.nn.Conv2d):
            bns[id(prev)] = m
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d)):
            prev = m
    with torch.no_grad():
        for node, mod in zip(nodes, mods):
            w, b = torch.from_numpy(init[node.input[1]].copy()), torch.from_numpy(init[node.input[2]].copy())
            if tuple(w.shape) != tuple(mod.weight.shape):
                sys.exit(f"{onnx_path}: {node.name} has weights {tuple(w.shape)}, the layer {tuple(mod.weight.shape)}")
            mod.weight.copy_(w)
            if mod.bias is not None:
                mod.bias.copy_(b)
            elif id(mod) in bns:
                bn = bns[id(mod)]
                bn.weight.fill_(1.0)
                bn.bias.copy_(b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            else:
                sys.exit(f"{onnx_path}: {node.name} has a bias the layer has nowhere to keep")


def fold_weight_quantization(onnx_path: Path) -> int:
    """Stores the weights as int8: every QuantizeLinear whose inputs are all constants (the
    weights' fake-quant) is replaced by its int8 result, so the file holds int8 weights feeding
    DequantizeLinear (a quarter of the fp32 size) instead of fp32 weights quantized at load.
    The arithmetic is the ONNX operator's own (round half to even, saturate); the torch exporter
    leaves it unfolded. Returns how many weight tensors were folded."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(onnx_path))
    g = m.graph
    const = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:  # the exporter shares scalar zero points through Identity nodes
        if n.op_type == "Identity" and n.input[0] in const:
            const[n.output[0]] = const[n.input[0]]
    # Per-tensor scales and zero points leave the exporter as shape-[1] tensors; ONNX Runtime's
    # QDQ fusions (QLinearAdd, QLinearConcat, ...) want scalars, and refuse the graph otherwise.
    qdq_params = {n.input[i] for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")
                  for i in (1, 2) if i < len(n.input)}
    for init in g.initializer:
        if init.name in qdq_params and list(init.dims) == [1]:
            scalar = numpy_helper.from_array(numpy_helper.to_array(init).reshape(()), init.name)
            init.CopyFrom(scalar)
            const[init.name] = numpy_helper.to_array(scalar)
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in const:
            const[n.output[0]] = const[n.input[0]]
    del g.value_info[:]
    folded, keep = [], []
    for n in g.node:
        if n.op_type == "QuantizeLinear" and len(n.input) == 3 and all(x in const for x in n.input):
            x, scale, zp = (const[i] for i in n.input)
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            if scale.ndim == 1:
                shape = [1] * x.ndim
                shape[axis] = -1
                scale, zp = scale.reshape(shape), zp.reshape(shape)
            info = np.iinfo(zp.dtype)
            q = np.clip(np.rint(x / scale) + zp.astype(np.int32), info.min, info.max).astype(zp.dtype)
            folded.append(numpy_helper.from_array(q, n.output[0]))
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(folded)
    used = {i for n in g.node for i in n.input}
    live = [n for n in g.node if n.op_type != "Identity" or n.output[0] in used]
    del g.node[:]
    g.node.extend(live)
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    onnx.checker.check_model(m)
    onnx.save(m, str(onnx_path))
    return len(folded)
