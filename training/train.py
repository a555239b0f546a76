#!/usr/bin/env python3
"""Train a CNN and write it into a Loupe model store as a new numeric version.

  python3 training/train.py --data fashion-mnist --store model-store --name fashion-mnist
  python3 training/train.py --data /path/to/imagefolder --store model-store --name my-model --size 64

Fashion-MNIST is read from Debian's dataset-fashion-mnist package (or --fmnist-dir); any
ImageFolder-style directory (one sub-directory per class) works as well.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import onnx_max_abs_diff, write_entry  # noqa: E402
from report import confusion_png, model_card  # noqa: E402

FMNIST_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FMNIST_DIRS = ["/usr/share/datasets/fashion-mnist"]
MAX_ONNX_DIFF = 1e-3


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="fashion-mnist", help="'fashion-mnist' or an ImageFolder directory")
    p.add_argument("--fmnist-dir", default=None, help="directory holding the Fashion-MNIST idx .gz files")
    p.add_argument("--store", default="model-store", help="model store directory to write into")
    p.add_argument("--name", default=None, help="model name in the store (default: from --data)")
    p.add_argument("--version", type=int, default=None, help="version number (default: next free)")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=32, help="channels of the first conv block")
    p.add_argument("--val-split", type=float, default=0.1)
    p.add_argument("--size", type=int, default=64, help="input side for ImageFolder data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores the process may use)")
    p.add_argument("--limit", type=int, default=0, help="use only N training images (smoke tests)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the ONNX Runtime check of the export (when neither Python's onnxruntime nor node is installed)")
    return p.parse_args()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(directory: str | None):
    candidates = [directory] if directory else FMNIST_DIRS
    for d in candidates:
        if d and Path(d, "train-images-idx3-ubyte.gz").exists():
            root = Path(d)
            break
    else:
        sys.exit(f"Fashion-MNIST not found in {candidates}: apt-get install dataset-fashion-mnist, or pass --fmnist-dir")
    xtr = read_idx(root / "train-images-idx3-ubyte.gz")
    ytr = read_idx(root / "train-labels-idx1-ubyte.gz")
    xte = read_idx(root / "t10k-images-idx3-ubyte.gz")
    yte = read_idx(root / "t10k-labels-idx1-ubyte.gz")
    return xtr, ytr, xte, yte, FMNIST_LABELS, str(root)


def load_imagefolder(directory: str, size: int):
    from PIL import Image, ImageOps

    root = Path(directory)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(classes) < 2:
        sys.exit(f"{directory}: an ImageFolder needs at least two class sub-directories")
    xs, ys = [], []
    for idx, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            try:
                img = ImageOps.exif_transpose(Image.open(f)).convert("RGB")
            except Exception:  # not an image: skip it, as torchvision's ImageFolder would refuse it
                continue
            xs.append(np.asarray(center_crop(img, size)).transpose(2, 0, 1))
            ys.append(idx)
    x = np.stack(xs)
    y = np.array(ys, dtype=np.int64)
    order = np.random.RandomState(1234).permutation(len(x))
    n_test = max(1, len(x) // 6)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test], classes, str(root)


def center_crop(img, size: int):
    """Shorter side to `size`, then a centered size×size crop: the 'shorter-side-center-crop'
    mode that Loupe applies at serving time."""
    from PIL import Image

    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


class Net(nn.Module):
    """Two VGG-style blocks with batch norm: ~0.5M parameters at width 32, small enough to
    train on two CPU cores in minutes and to serve at thousands of images per second."""

    def __init__(self, channels: int, classes: int, side: int, width: int = 32):
        super().__init__()
        w = width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2))

        self.features = nn.Sequential(block(channels, w), nn.Dropout(0.1), block(w, 2 * w), nn.Dropout(0.2))
        feat_side = side // 4
        self.pool = nn.AdaptiveAvgPool2d(7) if feat_side > 7 else nn.Identity()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * w * min(feat_side, 7) ** 2, 128),
                                  nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 2 px (pad + crop)."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (2, 2, 2, 2))
    dx, dy = torch.randint(0, 5, (2,), generator=gen).tolist()
    return padded[:, :, dy:dy + h, dx:dx + w]


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bs: int = 1000) -> tuple[float, np.ndarray]:
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            preds.append(model(x[i:i + bs]).argmax(1))
    pred = torch.cat(preds)
    return float((pred == y).float().mean()), pred.cpu().numpy()


FASHION_MNIST_CARD = {
    "trained_on": "Fashion-MNIST (Zalando Research): 60,000 28×28 grayscale images of single clothing items — a light garment, centred, on a black background — in 10 classes.",
    "intended_use": "A demonstration and test model. It only knows Fashion-MNIST's look: photos (colour, several objects, a white or busy background, anything that is not one of the ten classes) get confident but meaningless labels. For photos, pull an ImageNet model.",
}


def main() -> None:
    args = parse_args()
    seed_everything(args.seed)
    # Debian's OpenMP build starts with one thread when OMP_NUM_THREADS is unset.
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))

    if args.data == "fashion-mnist":
        xtr, ytr, xte, yte, labels, source = load_fmnist(args.fmnist_dir)
        xtr, xte = xtr[:, None], xte[:, None]
        name = args.name or "fashion-mnist"
    else:
        xtr, ytr, xte, yte, labels, source = load_imagefolder(args.data, args.size)
        name = args.name or Path(args.data).name
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    channels, side = xtr.shape[1], xtr.shape[2]
    mean = [float(xtr[:, c].mean() / 255) for c in range(channels)]
    std = [float(xtr[:, c].std() / 255) for c in range(channels)]

    def to_tensor(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(a.astype(np.float32) / 255.0)
        m = torch.tensor(mean).view(1, -1, 1, 1)
        s = torch.tensor(std).view(1, -1, 1, 1)
        return ((t - m) / s).to(device)

    perm = np.random.RandomState(args.seed).permutation(len(xtr))
    n_val = int(len(xtr) * args.val_split)
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    x_train, y_train = to_tensor(xtr[tr_idx]), torch.from_numpy(ytr[tr_idx].astype(np.int64)).to(device)
    x_val, y_val = to_tensor(xtr[val_idx]), torch.from_numpy(ytr[val_idx].astype(np.int64)).to(device)
    x_test, y_test = to_tensor(xte), torch.from_numpy(yte.astype(np.int64)).to(device)

    model = Net(channels, len(labels), side, args.width).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"data: {source} train={len(tr_idx)} val={n_val} test={len(x_test)} classes={len(labels)} "
          f"input={channels}x{side}x{side} params={n_params} device={device} threads={torch.get_num_threads()}",
          flush=True)

    steps = (len(x_train) + args.batch_size - 1) // args.batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps)
    gen = torch.Generator().manual_seed(args.seed)
    best_acc, best_state, best_epoch = -1.0, None, 0
    started = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        bar = tqdm(range(steps), desc=f"epoch {epoch}/{args.epochs}", unit="batch", file=sys.stdout,
                   mininterval=2.0, dynamic_ncols=True)
        total = 0.0
        for i in bar:
            idx = order[i * args.batch_size:(i + 1) * args.batch_size].to(device)
            xb = augment(x_train[idx], gen)
            loss = F.cross_entropy(model(xb), y_train[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (i + 1):.4f}", refresh=False)
        val_acc, _ = evaluate(model, x_val, y_val)
        marker = ""
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            marker = " (best)"
        print(f"epoch {epoch}: loss={total / steps:.4f} val_acc={val_acc:.4f}{marker}", flush=True)
    train_seconds = time.time() - started
    model.load_state_dict(best_state)

    test_acc, pred = evaluate(model, x_test, y_test)
    y_true = y_test.cpu().numpy()
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(cm, (y_true, pred), 1)
    per_class = {labels[i]: float(cm[i, i] / max(1, cm[i].sum())) for i in range(len(labels))}
    print(f"best epoch {best_epoch}: val_acc={best_acc:.4f} test_acc={test_acc:.4f} "
          f"({train_seconds / 60:.1f} min)", flush=True)

    model = model.cpu().eval()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        onnx_path = tmp / "model.onnx"
        dummy = torch.zeros(1, channels, side, side)
        torch.onnx.export(model, dummy, str(onnx_path), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          do_constant_folding=True)
        check = x_test[:64].cpu()
        with torch.no_grad():
            ref = model(check).numpy()
        diff = None if args.no_verify else onnx_max_abs_diff(onnx_path, "input", check.numpy(), ref)
        print(f"onnx check: max |onnx - torch| = {diff:.2e} on a batch of {len(check)} (bound {MAX_ONNX_DIFF})"
              if not args.no_verify else "onnx check: skipped (--no-verify); the model servers validate the graph on load")
        if diff is not None and not diff <= MAX_ONNX_DIFF:
            sys.exit(f"ONNX export does not match PyTorch: max abs diff {diff}")

        metrics = {
            "dataset": args.data if args.data == "fashion-mnist" else "imagefolder",
            "test_images": int(len(y_true)),
            "test_accuracy": test_acc,
            "val_accuracy": best_acc,
            "best_epoch": best_epoch,
            "per_class_accuracy": per_class,
            "confusion_matrix": cm.tolist(),
            "labels": labels,
            "onnx_max_abs_diff": diff,
            "train_seconds": round(train_seconds, 1),
            "params": n_params,
            "hyperparameters": {k: getattr(args, k) for k in
                                ("epochs", "batch_size", "lr", "width", "val_split", "seed")},
            "environment": {"torch": torch.__version__, "python": platform.python_version(),
                            "device": str(device), "threads": torch.get_num_threads(),
                            "machine": platform.machine()},
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        confusion_png(cm, labels, test_acc, tmp / "confusion_matrix.png")
        (tmp / "MODEL_CARD.md").write_text(model_card(name, metrics, source, channels, side))
        config = {
            "name": name,
            "format": "onnx",
            "description": "Fashion-MNIST clothing classifier trained by Loupe's training/train.py"
            if args.data == "fashion-mnist" else f"Classifier trained on {Path(args.data).name}",
            "input": {"name": "input", "color": "grayscale" if channels == 1 else "rgb",
                      "height": side, "width": side, "resize": "shorter-side-center-crop",
                      "resize_shorter": side, "mean": mean, "std": std},
            "output": {"name": "logits", "kind": "logits"},
            "batching": {"max_batch_size": 64, "max_queue_delay_ms": 0, "max_queue_size": 512},
        }
        if args.data == "fashion-mnist":
            # What the server's model card and out-of-domain warnings say (src/models/card.ts).
            config["card"] = FASHION_MNIST_CARD
            config["input"]["background"] = "dark"
        final = write_entry(Path(args.store), name, args.version, config, labels, onnx_path,
                            {f: tmp / f for f in ("metrics.json", "confusion_matrix.png", "MODEL_CARD.md")})
    print(f"wrote {final} (test accuracy {test_acc * 100:.2f}%)")


if __name__ == "__main__":
    main()
