"""Human-readable outputs of a training run: the confusion-matrix chart and the model card."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def confusion_png(cm: np.ndarray, labels: list[str], acc: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.65 * n), dpi=80)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix (test accuracy {acc * 100:.2f}%)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def onnx_check(diff: float | None) -> str:
    if diff is None:
        return "The ONNX export was not checked against PyTorch (--no-verify)."
    return f"ONNX export checked against PyTorch: max abs difference {diff:.1e}."


def model_card(name: str, m: dict, source: str, channels: int, side: int) -> str:
    per_class = "\n".join(f"| {k} | {v * 100:.1f}% |" for k, v in m["per_class_accuracy"].items())
    hp = m["hyperparameters"]
    env = m["environment"]
    fmnist = m["dataset"] == "fashion-mnist"
    data = ("Fashion-MNIST (Zalando Research, MIT license): 60,000 training and 10,000 test 28×28 "
            f"grayscale images of 10 clothing classes, read from `{source}` (Debian package "
            "`dataset-fashion-mnist`). "
            if fmnist else f"ImageFolder directory `{source}`. ")
    limits = ("The model only knows Fashion-MNIST's look: a single centered garment, light on a black "
              "background, 28×28 grayscale. Photos of clothes on a white background, several objects, or "
              "anything that is not one of the ten classes get confident but meaningless labels. It is a "
              "demonstration and test model, not for decisions about people."
              if fmnist else "Only as good as the training folder: check the per-class accuracy below.")
    return f"""# Model card: {name}

## Data
{data}{int(hp['val_split'] * 100)}% of the training images are held out for validation (best-epoch
selection); the test images are never seen during training.

## Architecture
Two VGG-style blocks (2× conv3×3 + batch norm + ReLU, max-pool) of {hp['width']} and {hp['width'] * 2}
channels, dropout, a 128-unit dense layer and a linear classifier; {m['params']:,} parameters.
Input {channels}×{side}×{side}, normalized with the training set's mean and std (see `model.json`).
Trained {hp['epochs']} epochs with AdamW and a one-cycle learning rate (max {hp['lr']}), batch
{hp['batch_size']}, label smoothing 0.05, random horizontal flips and ±2 px shifts, seed {hp['seed']}.

## Accuracy
Test accuracy **{m['test_accuracy'] * 100:.2f}%** on {m['test_images']:,} images (validation
{m['val_accuracy'] * 100:.2f}%, best epoch {m['best_epoch']}). {onnx_check(m['onnx_max_abs_diff'])}

| class | accuracy |
| --- | --- |
{per_class}

![confusion matrix](confusion_matrix.png)

## Training cost
{m['train_seconds'] / 60:.1f} minutes on {env['machine']} ({env['device']}, {env['threads']} threads),
PyTorch {env['torch']}, Python {env['python']}.

## Intended use and limits
{limits}

## License
Model weights: Apache-2.0, like Loupe. Training data: see the dataset's own license.
"""
