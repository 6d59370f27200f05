#!/usr/bin/env bash
# minidl's one entry point. On a fresh Debian 12 machine:
#   ./build.sh test      install what is missing, configure, build (Release), run every test (ctest)
#   ./build.sh sanitize  the second stage CI runs: the CUDA interpreter (MINIDL_CUDA=EMULATE, in
#                        ${BUILD_DIR}-emu, apps included) under AddressSanitizer + UBSan, and the
#                        [cuda] suite with it on the CPU, in both thread orders
#   ./build.sh train     the Release build, prepare CIFAR-10 if missing, run train_cifar's defaults
#   ./build.sh           just install and build
# Each object is built once per tree; the two trees differ in flags (Release vs the interpreter
# under the sanitizers), so nothing is compiled twice for the same purpose.
# Settings (environment): BUILD_DIR (build), JOBS (number of cores), DATA_DIR (datasets),
# OUT_DIR (runs/default), CUDA_ARCHS (with a GPU: CMake's default list 80;86;89;90; without one:
# 90 only, as the build is then only compiled, never run), CMAKE_ARGS (extra configure flags),
# EMU_SANITIZE (address,undefined; empty: no sanitizers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
what=${1:-build}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
DATA_DIR=${DATA_DIR:-datasets}
OUT_DIR=${OUT_DIR:-runs/default}

case $what in build|test|sanitize|train) ;; *)
  echo "usage: ./build.sh [build|test|sanitize|train]" >&2; exit 2 ;;
esac

# ---- dependencies: Debian packages, installed only when missing -----------------------------------
packages=(g++ make cmake libeigen3-dev catch2 libcli11-dev nlohmann-json3-dev libstb-dev libpng-dev
          libplplot-dev plplot-driver-cairo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "build.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- the interpreter under the sanitizers (CI's second stage) --------------------------------------
if [[ $what == sanitize ]]; then
  # The same .cu files compiled as C++ and run by the CUDA interpreter (core/cuda_emulation.h):
  # every CUDA kernel executes, under ASan + UBSan, whether or not this machine has nvcc or a GPU.
  # cuda_tests runs the suite, cuda_tests_reverse again with each block's threads in reverse
  # order, cuda_vendor_tests reports the cuBLAS / cuDNN cases as skipped. train_cifar and
  # bench_ops are built here too: tools/gpu_check.sh --rehearse runs them on the interpreter.
  emu_dir="${BUILD_DIR}-emu"
  cmake -S . -B "$emu_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMINIDL_CUDA=EMULATE -DMINIDL_BUILD_APPS=ON \
        "-DMINIDL_SANITIZE=${EMU_SANITIZE-address,undefined}"
  cmake --build "$emu_dir" -j "$JOBS" --target minidl_cuda_tests train_cifar bench_ops
  ctest --test-dir "$emu_dir" -R '^cuda_' -j "$JOBS" --output-on-failure
  exit 0
fi

# ---- configure and build ---------------------------------------------------------------------------
# The CUDA backend is built whenever nvcc exists (it does not need a GPU to compile).
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi
cmake_args=(-S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release)
if [[ -n ${CUDA_ARCHS:-} ]]; then
  cmake_args+=("-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS")
elif command -v nvcc >/dev/null && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; then
  # No GPU to run them on: one architecture proves the kernels compile; the four take 2-3x as
  # long per .cu file (measured here: kernels/cuda/conv.cu 57 s for sm_90, 165 s for all four).
  echo "build.sh: no GPU here: CUDA code for sm_90 only (CUDA_ARCHS=\"80;86;89;90\" for all)"
  cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES=90)
fi
# shellcheck disable=SC2206
[[ -n ${CMAKE_ARGS:-} ]] && cmake_args+=($CMAKE_ARGS)
cmake "${cmake_args[@]}"
cmake --build "$BUILD_DIR" -j "$JOBS"

case $what in
  test)
    ctest --test-dir "$BUILD_DIR" -j "$JOBS" --output-on-failure
    ;;
  train)
    data/prepare_cifar10.sh "$DATA_DIR"
    # A second `./build.sh train` continues (or, when it has finished, reports) the run in
    # OUT_DIR instead of being refused: train_cifar never overwrites a run.
    if [[ -f $OUT_DIR/checkpoint.safetensors ]]; then
      "$BUILD_DIR/apps/train_cifar" --resume "$OUT_DIR"
    else
      "$BUILD_DIR/apps/train_cifar" --data "$DATA_DIR" --out "$OUT_DIR"
    fi
    ;;
esac
