"""The int8 twin of a model train.py made: `<name>-int8` beside `<name>` in the model store,
measured against the fp32 graph on the whole test set with ONNX Runtime (the runtime that serves
both), so the accuracy it records is the served model's, not an estimate from PyTorch."""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from common import write_entry
from quantize import OPSET, batched, export_int8, onnx_top1, qdq_summary


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def write_int8_twin(model: torch.nn.Module, fp32_onnx: Path, calibration: torch.Tensor, calibration_source: str,
                    x_test: torch.Tensor, y_test: np.ndarray, labels: list[str], config: dict, store: Path,
                    name: str, version: int | None) -> Path:
    """Quantizes `model` (calibrated on `calibration`), evaluates both graphs on the test set and
    writes the entry. Returns the version directory written."""
    k = len(labels)
    twin = f"{name}-int8"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        onnx_path = tmp / "model.onnx"
        print(f"int8: calibrating on {len(calibration)} images from {calibration_source}", flush=True)
        export_int8(model.cpu(), calibration[:1], batched(list(calibration), 64), onnx_path)
        print(f"int8: QDQ nodes {qdq_summary(onnx_path)}; evaluating fp32 and int8 graphs on "
              f"{len(y_test)} test images with ONNX Runtime", flush=True)
        x = x_test.cpu().numpy()
        p32, p8 = onnx_top1(fp32_onnx, "input", x), onnx_top1(onnx_path, "input", x)
        cm32, cm8 = confusion(y_test, p32, k), confusion(y_test, p8, k)
        acc32, acc8 = float((p32 == y_test).mean()), float((p8 == y_test).mean())
        metrics = {
            "precision": "int8",
            "test_images": int(len(y_test)),
            "test_accuracy": acc8,
            "fp32_test_accuracy": acc32,
            "accuracy_change_points": round((acc8 - acc32) * 100, 2),
            "top1_agreement_with_fp32": float((p8 == p32).mean()),
            "per_class_accuracy": {labels[i]: float(cm8[i, i] / max(1, cm8[i].sum())) for i in range(k)},
            "fp32_per_class_accuracy": {labels[i]: float(cm32[i, i] / max(1, cm32[i].sum())) for i in range(k)},
            "confusion_matrix": cm8.tolist(),
            "confusion_matrix_change": (cm8 - cm32).tolist(),
            "labels": labels,
            "calibration": {"source": calibration_source, "images": int(len(calibration)), "synthetic": False},
            "quantization": "static, per-channel symmetric int8 weights, per-tensor uint8 activations "
                            f"(HistogramObserver), QDQ ONNX opset {OPSET}, torch {torch.__version__}",
            "fp32_model_bytes": fp32_onnx.stat().st_size,
            "int8_model_bytes": onnx_path.stat().st_size,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"int8: test accuracy {acc8 * 100:.2f}% vs fp32 {acc32 * 100:.2f}% "
              f"({metrics['accuracy_change_points']:+.2f} points), top-1 agreement "
              f"{metrics['top1_agreement_with_fp32'] * 100:.2f}%, {metrics['int8_model_bytes']:,} bytes vs "
              f"{metrics['fp32_model_bytes']:,}", flush=True)
        cfg = {**config, "name": twin, "precision": "int8", "calibration": metrics["calibration"],
               "description": f"{config.get('description', name)}; int8 (static QDQ) twin of {name}"}
        return write_entry(store, twin, version, cfg, labels, onnx_path, {"metrics.json": tmp / "metrics.json"})
