"""Shared pieces of the training tools: model-store writing and ONNX verification.

The model store layout is Loupe's contract with the servers:
  <store>/<name>/model.json, <store>/<name>/labels.txt, <store>/<name>/<version>/model.onnx
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def next_version(entry: Path) -> int:
    versions = [int(p.name) for p in entry.iterdir() if p.is_dir() and p.name.isdigit()] if entry.exists() else []
    return max(versions, default=0) + 1


def write_entry(store: Path, name: str, version: int | None, config: dict, labels: list[str],
                onnx_bytes_path: Path, extra_files: dict[str, Path] | None = None) -> Path:
    """Writes one model version atomically: files land in a hidden temp dir that is renamed
    into place, so a model server watching the store never sees a half-written version."""
    entry = store / name
    entry.mkdir(parents=True, exist_ok=True)
    version = version or next_version(entry)
    _atomic_write(entry / "model.json", json.dumps(config, indent=2) + "\n")
    _atomic_write(entry / "labels.txt", "\n".join(labels) + "\n")
    tmp = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=entry))
    shutil.copyfile(onnx_bytes_path, tmp / "model.onnx")
    for fname, src in (extra_files or {}).items():
        shutil.copyfile(src, tmp / fname)
    os.chmod(tmp, 0o755)
    final = entry / str(version)
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    return final


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def onnx_max_abs_diff(onnx_path: Path, input_name: str, batch: np.ndarray, reference: np.ndarray) -> float:
    """Runs the exported graph with ONNX Runtime and returns max |onnx - torch|.

    Python's onnxruntime is used where installed (pip users); otherwise Loupe's own
    onnxruntime-node from the repo (Debian has no python3-onnxruntime)."""
    try:
        import onnxruntime as ort  # type: ignore

        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        out = sess.run(None, {input_name: batch.astype(np.float32)})[0]
        return float(np.abs(out - reference).max())
    except ImportError:
        pass
    script = REPO_ROOT / "training" / "onnx_run.mjs"
    with tempfile.TemporaryDirectory() as d:
        inp = Path(d) / "in.json"
        inp.write_text(json.dumps({"input": input_name, "shape": list(batch.shape),
                                   "data": batch.astype(np.float32).ravel().tolist()}))
        res = subprocess.run(["node", str(script), str(onnx_path), str(inp)], check=True,
                             capture_output=True, text=True, cwd=REPO_ROOT)
        out = np.array(json.loads(res.stdout)["data"], dtype=np.float32).reshape(reference.shape)
    return float(np.abs(out - reference).max())
