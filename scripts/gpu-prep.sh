#!/usr/bin/env bash
# Builds the GPU check's self-contained folder, here where npm and the data are reachable, for a
# GPU host that may have neither: this Node binary, the code the check runs, node_modules trimmed
# of development tools and other platforms' Dawn binaries, the native addon with its oneDNN
# libraries, the Vulkan loader (and lavapipe, for a dry run), and a slice of CIFAR-10.
#
#   scripts/gpu-prep.sh [OUT_DIR]     (default gpu-check-bundle/; then copy it, e.g. as a tarball)
#   OUT_DIR/scripts/gpu-check.sh      on the GPU host (--software: dry run on lavapipe)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/gpu-check-bundle}" && cd "${1:-$ROOT/gpu-check-bundle}" && pwd)"
cd "$ROOT"
say() { echo "gpu-prep: $*" >&2; }
[[ -d node_modules/webgpu && -d node_modules/@tensorflow/tfjs-backend-webgpu ]] || {
  say "node_modules lacks webgpu / @tensorflow/tfjs-backend-webgpu: run npm ci first"
  exit 1
}
rm -rf "${OUT:?}"/*

say "Node $(node --version)"
mkdir -p "$OUT/node/bin"
cp "$(command -v node)" "$OUT/node/bin/node"

say "code"
tar -cf - server bench gen scripts/gpu-check.sh scripts/gpu-prep.sh package.json tsconfig.json | tar -xf - -C "$OUT"

say "node_modules (trimmed)"
tar -cf - \
  --exclude='node_modules/@biomejs' --exclude='node_modules/@bufbuild' --exclude='node_modules/typescript' \
  --exclude='node_modules/dprint-node' --exclude='node_modules/ts-proto*' --exclude='node_modules/@types' \
  --exclude='node_modules/@tensorflow/tfjs-node' --exclude='node_modules/@tensorflow/tfjs-node-gpu' \
  --exclude='node_modules/ink-testing-library' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' \
  node_modules | tar -xf - -C "$OUT"

if [[ -f native/build/pretext_native.node ]]; then
  say "native addon and its libraries"
  mkdir -p "$OUT/native/build" "$OUT/lib"
  cp native/build/pretext_native.node "$OUT/native/build/"
  for lib in $(ldd native/build/pretext_native.node | awk '/=> \// {print $3}' | grep -E 'libdnnl|libgomp|libOpenCL'); do
    cp -L "$lib" "$OUT/lib/"
  done
else
  say "no native addon here (npm run build:native): the check will compare against wasm"
fi

LVP="${PRETEXT_LAVAPIPE_DIR:-$ROOT/.cache/lavapipe}"
[[ -f "$LVP/libvulkan_lvp.so" ]] || bash scripts/fetch-lavapipe.sh >/dev/null
say "Vulkan loader and lavapipe (for --software)"
mkdir -p "$OUT/vulkan" "$OUT/lavapipe"
cp -L "$LVP/libvulkan.so.1" "$OUT/vulkan/"
cp "$LVP/libvulkan_lvp.so" "$OUT/lavapipe/"

say "CIFAR-10 slice (2,048 training images)"
SRC="$(node --import tsx -e "import('./bench/cifar-raw.ts').then((m) => console.log(m.cifarBatchFile()))")"
mkdir -p "$OUT/data/cifar-10-batches-bin"
head -c $((2048 * 3073)) "$SRC" >"$OUT/data/cifar-10-batches-bin/data_batch_1.bin"

say "$(du -sh "$OUT" | cut -f1) in $OUT; on the GPU host: $OUT/scripts/gpu-check.sh"
echo "$OUT"
