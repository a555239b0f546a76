#!/usr/bin/env python3
"""Export a torchvision classification architecture to a Loupe model-store entry.

  python3 training/export_torchvision.py resnet18 --weights none --store model-store
  python3 training/export_torchvision.py mobilenet_v2 --weights default --store model-store --name mobilenet

  python3 training/export_torchvision.py resnet18 --int8 --calibration ~/imagenet-val-sample

--int8 also writes <name>-int8: a statically quantized QDQ graph calibrated on --calibration
(a few hundred images of the model's domain, any folder layout); without that folder random
tensors stand in, which the output and the entry's model.json say (accuracy then unknown).
--weights none gives random weights and works offline (tests, benchmarks);
--weights default downloads torchvision's pretrained ImageNet weights (needs the internet).
The entry carries the 1000 ImageNet labels and torchvision's preprocessing
(Resize(256) + CenterCrop(224), ImageNet mean/std).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import onnx_max_abs_diff, write_entry  # noqa: E402

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
LABELS_FILE = Path(__file__).resolve().parent / "imagenet_labels.txt"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("arch", help="torchvision.models name: resnet18, resnet50, mobilenet_v2, mobilenet_v3_small, efficientnet_b0, ...")
    p.add_argument("--weights", default="none", choices=["none", "default"])
    p.add_argument("--store", default="model-store")
    p.add_argument("--name", default=None)
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--size", type=int, default=224, help="crop size (model input side)")
    p.add_argument("--resize", type=int, default=256, help="shorter side before the center crop")
    p.add_argument("--fp16", action="store_true", help="also write model.fp16.onnx (half-precision weights) for GPU providers")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--max-batch-size", type=int, default=8,
                   help="batching.max_batch_size in model.json; on CPU a 224x224 CNN gains nothing past 8 "
                        "while memory grows with it (docs/performance.md, Memory); raise it for GPU providers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--int8", action="store_true", help="also write <name>-int8, a static int8 QDQ graph")
    p.add_argument("--calibration", default=None, metavar="DIR",
                   help="images of the model's domain for --int8 (default: synthetic random tensors, said loudly)")
    p.add_argument("--calibration-images", type=int, default=300, help="how many calibration images to use")
    args = p.parse_args()

    import torchvision

    torch.manual_seed(args.seed)
    builder = getattr(torchvision.models, args.arch, None)
    if builder is None:
        sys.exit(f"unknown torchvision architecture {args.arch!r}")
    if args.weights == "default":
        try:
            weights = torchvision.models.get_model_weights(args.arch).DEFAULT
        except Exception as err:  # older torchvision: fall back to pretrained=True
            print(f"note: {err}; using pretrained=True", file=sys.stderr)
            weights = None
        model = builder(weights=weights) if weights is not None else builder(pretrained=True)
    else:
        try:
            model = builder(weights=None)
        except TypeError:  # torchvision < 0.13
            model = builder(pretrained=False)
    model.eval()

    labels = LABELS_FILE.read_text().splitlines()
    name = args.name or args.arch.replace("_", "-")
    with tempfile.TemporaryDirectory() as d:
        onnx_path = Path(d) / "model.onnx"
        dummy = torch.randn(2, 3, args.size, args.size)
        torch.onnx.export(model, dummy, str(onnx_path), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=args.opset,
                          do_constant_folding=True)
        with torch.no_grad():
            ref = model(dummy).numpy()
        diff = onnx_max_abs_diff(onnx_path, "input", dummy.numpy(), ref)
        print(f"onnx check: max |onnx - torch| = {diff:.2e}")
        if not diff <= 1e-3 * max(1.0, float(np.abs(ref).max())):
            sys.exit(f"ONNX export does not match PyTorch: max abs diff {diff}")
        extra = {}
        if args.fp16:
            extra["model.fp16.onnx"] = to_fp16(onnx_path, Path(d))
        config = {
            "name": name,
            "format": "onnx",
            "description": f"torchvision {args.arch} ({'ImageNet pretrained' if args.weights == 'default' else 'random weights'})",
            "input": {"name": "input", "color": "rgb", "height": args.size, "width": args.size,
                      "resize": "shorter-side-center-crop", "resize_shorter": args.resize,
                      "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
            "output": {"name": "logits", "kind": "logits"},
            "batching": {"max_batch_size": args.max_batch_size, "max_queue_delay_ms": 0, "max_queue_size": 256},
        }
        if args.fp16:
            config["variants"] = {"cuda": "model.fp16.onnx", "webgpu": "model.fp16.onnx"}
        final = write_entry(Path(args.store), name, args.version, config, labels, onnx_path, extra)
        print(f"wrote {final}")
        if args.int8:
            print(f"wrote {write_int8(args, model, config, labels, name, dummy, ref)}")


def write_int8(args, model, config: dict, labels: list[str], name: str, dummy: torch.Tensor,
               ref: np.ndarray) -> Path:
    from quantize import batched, calibration_from_dir, export_int8, onnx_top1, qdq_summary

    if args.calibration:
        images = calibration_from_dir(args.calibration, args.calibration_images, preprocess(args), args.seed)
        if not images:
            sys.exit(f"--calibration {args.calibration}: no readable images")
        calibration = {"source": str(Path(args.calibration).resolve()), "images": len(images), "synthetic": False}
    else:
        gen = torch.Generator().manual_seed(args.seed)
        images = list(torch.randn(args.calibration_images, 3, args.size, args.size, generator=gen))
        calibration = {"source": f"synthetic: {len(images)} standard-normal tensors (no --calibration folder)",
                       "images": len(images), "synthetic": True}
        print("\n" + "!" * 78 + "\nWARNING: --int8 without --calibration DIR: activation ranges come from random "
              "tensors,\nnot images. Fine for speed measurements; the int8 model's accuracy is UNKNOWN.\n"
              "Pass --calibration with a few hundred images of the model's domain.\n" + "!" * 78, flush=True)
    twin = f"{name}-int8"
    with tempfile.TemporaryDirectory() as d:
        onnx_path = Path(d) / "model.onnx"
        export_int8(model, dummy, batched(images, 32), onnx_path)
        agree = float((onnx_top1(onnx_path, "input", dummy.numpy()) == ref.argmax(1)).mean())
        print(f"int8: QDQ nodes {qdq_summary(onnx_path)}; top-1 agreement with fp32 on the check batch {agree:.0%}; "
              f"{onnx_path.stat().st_size:,} bytes", flush=True)
        cfg = {**config, "name": twin, "precision": "int8", "calibration": calibration,
               "description": f"{config['description']}; int8 (static QDQ) twin of {name}"
                              + (", calibrated on SYNTHETIC data" if calibration["synthetic"] else "")}
        cfg.pop("variants", None)  # the fp16 files belong to the fp32 entry
        return write_entry(Path(args.store), twin, args.version, cfg, labels, onnx_path)


def preprocess(args):
    """torchvision's eval transform, as model.json tells Loupe to apply it."""
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(args.resize), transforms.CenterCrop(args.size),
                               transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def to_fp16(onnx_path: Path, outdir: Path) -> Path:
    """Half-precision weights with float32 inputs/outputs kept (a Cast at each end), so the
    serving code feeds the same float32 tensors whichever variant a provider picks."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    m = onnx.load(str(onnx_path))
    g = m.graph
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(init).astype(np.float16)
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
    for node in g.node:
        for attr in node.attribute:
            if attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16), attr.t.name))
    inp, out = g.input[0].name, g.output[0].name
    for node in g.node:
        node.input[:] = [f"{inp}_fp16" if x == inp else x for x in node.input]
        node.output[:] = [f"{out}_fp16" if x == out else x for x in node.output]
    g.node.insert(0, helper.make_node("Cast", [inp], [f"{inp}_fp16"], to=TensorProto.FLOAT16))
    g.node.append(helper.make_node("Cast", [f"{out}_fp16"], [out], to=TensorProto.FLOAT))
    del g.value_info[:]
    path = outdir / "model.fp16.onnx"
    onnx.save(m, str(path))
    return path


if __name__ == "__main__":
    main()
