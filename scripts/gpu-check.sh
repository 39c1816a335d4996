#!/usr/bin/env bash
# The GPU check, in one command, within 10 minutes: finds the NVIDIA Vulkan driver, checks webgpu
# gradients against native, measures ResNet20 train/infer img/s at batch 128 and 256 on webgpu
# and native (every core), runs PyTorch on CUDA where present (the ceiling), and writes a JSON
# summary (bench/gpu-check.ts). Runs from the repository or from the self-contained folder that
# scripts/gpu-prep.sh builds (its own Node, node_modules, oneDNN, Vulkan loader, CIFAR-10 slice),
# so the GPU host needs no npm, no apt and no internet.
#
#   scripts/gpu-check.sh [--out FILE]    on the GPU host
#   scripts/gpu-check.sh --software      dry run on lavapipe (software Vulkan), small sizes
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
say() { echo "gpu-check: $*" >&2; }

NODE="node"
[[ -x "$ROOT/node/bin/node" ]] && NODE="$ROOT/node/bin/node"
# The bundle's own copies of oneDNN (and its OpenMP / OpenCL) for the native backend.
[[ -d "$ROOT/lib" ]] && export LD_LIBRARY_PATH="$ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[[ -d "$ROOT/data/cifar-10-batches-bin" ]] && export PRETEXT_DATA_DIR="$ROOT/data"

# The Vulkan loader: the system's, else the bundle's (containers often lack libvulkan1).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  for loader in "$ROOT/vulkan/libvulkan.so.1" "$ROOT/.cache/lavapipe/libvulkan.so.1"; do
    if [[ -f "$loader" ]]; then
      export PRETEXT_VULKAN_LOADER="$loader"
      break
    fi
  done
  say "no system Vulkan loader; using ${PRETEXT_VULKAN_LOADER:-none}"
fi

software=0
for arg in "$@"; do [[ "$arg" == --software ]] && software=1; done
if ((software)); then
  lvp=""
  for dir in "$ROOT/lavapipe" "${PRETEXT_LAVAPIPE_DIR:-$ROOT/.cache/lavapipe}"; do
    [[ -f "$dir/libvulkan_lvp.so" ]] && lvp="$dir" && break
  done
  [[ -n "$lvp" ]] || { say "no lavapipe (run scripts/fetch-lavapipe.sh)"; exit 1; }
  # The manifest must name the library by absolute path, wherever the folder now lies.
  icd="$(mktemp --suffix=.json)"
  trap 'rm -f "$icd"' EXIT
  printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s/libvulkan_lvp.so", "api_version": "1.4.305" } }\n' "$lvp" >"$icd"
  export VK_ICD_FILENAMES="$icd" PRETEXT_WEBGPU_ALLOW_FALLBACK=1
  say "dry run on lavapipe ($lvp)"
else
  # NVIDIA's Vulkan ICD: where the driver packages and the NVIDIA container toolkit put it.
  icd=""
  for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
    /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
    [[ -f "$f" ]] && icd="$f" && break
  done
  if [[ -z "$icd" ]]; then
    say "no NVIDIA Vulkan driver found (nvidia_icd.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)."
    say "install the driver's Vulkan part (e.g. libnvidia-gl-<version>), or in a container set"
    say "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics; the check goes on with Vulkan's default."
  else
    export VK_ICD_FILENAMES="$icd"
    say "NVIDIA Vulkan driver: $icd"
  fi
fi

exec timeout 600 "$NODE" --import tsx bench/gpu-check.ts "$@"
