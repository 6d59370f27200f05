#!/usr/bin/env bash
# minidl's whole GPU verification in one go, on a machine with an NVIDIA GPU (the H200 minidl is
# verified on: sm_90), within a time budget (GPU_CHECK_BUDGET seconds, default 570: under 10
# minutes). Stages, in order, each with its log in OUT_DIR/<stage>.log and one line in
# OUT_DIR/summary.txt (also printed at the end):
#   gpu        a GPU is there (nvidia-smi), and nvcc and cmake; without a GPU: stop at once (exit 2)
#   deps       the headers / libraries / dataset the machine lacks, from .device/ (tools/gpu_prepare.sh)
#   build      configure for sm_90 only (cuDNN when its headers and library are found: the system's,
#              or PyTorch's nvidia-cudnn wheel; else without the cuDNN engine), build with all cores
#   cuda_tests the [cuda] suite on the GPU (the vendor cases too)
#   resnet9    the reference recipe, 24 epochs: test accuracy and wall time (the time left before the
#              later stages' share of the budget; a run cut short reports its last epoch)
#   bench      bench_ops on CUDA: hand-written vs cuDNN vs PyTorch (apps/bench_table.py -> bench.md)
#   memcheck, racecheck   compute-sanitizer on the [cuda] suite (without the gradchecks and the
#              sweep, which launch tens of thousands of kernels) with MINIDL_CUDA_NO_CACHE=1
#
# usage: tools/gpu_check.sh OUT_DIR
#   On the device machine, after tools/gpu_prepare.sh here: run "tools/gpu_check.sh $OUT" with
#   carry [".device"]. Settings: GPU_CHECK_BUDGET (570), BUILD_DIR (build-gpu), JOBS (all cores),
#   DATA_DIR (datasets), RESNET9_EPOCHS (24).
# Exit status: 0 when every stage that ran passed, 1 when one failed, 2 without a GPU.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
out=${1:?usage: tools/gpu_check.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary=$out/summary.txt
: > "$summary"
t_start=$(date +%s)
budget=${GPU_CHECK_BUDGET:-570}
BUILD_DIR=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
DATA_DIR=${DATA_DIR:-datasets}
EPOCHS=${RESNET9_EPOCHS:-24}
failed=0

note() { echo "$*" | tee -a "$summary"; }
elapsed() { echo $(( $(date +%s) - t_start )); }
left() { echo $(( budget - $(elapsed) )); }
# run_stage NAME SECONDS CMD...: runs CMD with a time limit, its output into OUT/NAME.log (appended,
# so a stage may be several commands); stage_seconds is its duration. Returns CMD's status
# (124: stopped by the limit).
run_stage() {
  local name=$1 limit=$2; shift 2
  (( limit < 10 )) && limit=10
  echo "== $name (limit ${limit}s): $*" | tee -a "$out/$name.log" >&2
  local t0=$(date +%s)
  timeout --signal=TERM --kill-after=15 "$limit" "$@" >> "$out/$name.log" 2>&1
  local rc=$?
  stage_seconds=$(( $(date +%s) - t0 ))
  return $rc
}
finish() {
  note "total: $(elapsed) s"
  echo "---- summary ($summary)" >&2
  cat "$summary" >&2
  exit "$1"
}

# ---- gpu: stop at once without one --------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! gpus=$(nvidia-smi -L 2>/dev/null) || ! grep -q "^GPU" <<<"$gpus"; then
  note "gpu: FAIL: no NVIDIA GPU here (nvidia-smi is missing or lists none); nothing to check"
  finish 2
fi
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH=/usr/local/cuda/bin:$PATH
for tool in nvcc cmake; do
  command -v "$tool" >/dev/null 2>&1 || { note "gpu: FAIL: $tool not found"; finish 1; }
done
note "gpu: $(head -1 <<<"$gpus"); $(nvcc --version | tail -1); $(nproc) cores"

# ---- deps: headers, PLplot, fonts, cuDNN, CIFAR-10 -----------------------------------------------
cmake_args=(-S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90)
command -v ninja >/dev/null 2>&1 && cmake_args+=(-G Ninja)
runtime_libs=()
deps_note=()
if [[ -f .device/deps.tar.xz ]]; then
  prefix=/tmp/minidl-deps
  rm -rf "$prefix" && mkdir -p "$prefix" && tar -C "$prefix" -xJf .device/deps.tar.xz
  export CMAKE_PREFIX_PATH=$prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export PLPLOT_LIB=$prefix/share/plplot PLPLOT_DRV_DIR=$prefix/lib/plplot/drivers
  export FONTCONFIG_FILE=$prefix/etc/fonts/fonts.conf
  # The carried libraries are found through the programs' own RPATH (inherited by the libraries
  # they load), not LD_LIBRARY_PATH, so python3 and the toolchain keep the machine's own.
  runtime_libs+=("$prefix/lib")
  cmake_args+=("-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -Wl,-rpath-link,$prefix/lib")
  deps_note+=("headers and PLplot from .device/deps.tar.xz")
fi
# cuDNN: the system's (FindCUDNN looks in the CUDA toolkit) or PyTorch's wheel (headers and
# libcudnn.so.9, which has no unversioned name for the linker: a small folder provides one).
system_cudnn=""
for dir in ${CUDNN_ROOT:+$CUDNN_ROOT/include} /usr/local/cuda/include /usr/include /usr/include/x86_64-linux-gnu; do
  [[ -f $dir/cudnn.h ]] && system_cudnn=$dir && break
done
if [[ -n $system_cudnn ]]; then
  deps_note+=("cuDNN headers in $system_cudnn")
else
  # The folder of PyTorch's cuDNN wheel (nvidia/cudnn, or under nvidia/cu13 in newer layouts):
  # the one holding include/cudnn.h.
  wheel=$(python3 -c 'import os, nvidia
for p in nvidia.__path__:
    for root, dirs, files in os.walk(p):
        if "cudnn.h" in files and os.path.basename(root) == "include":
            print(os.path.dirname(root)); raise SystemExit' 2>/dev/null || true)
  if [[ -n $wheel ]] && lib=$(ls "$wheel"/lib/libcudnn.so.* 2>/dev/null | head -1) && [[ -n $lib ]]; then
    cudnn_root=/tmp/minidl-cudnn
    rm -rf "$cudnn_root" && mkdir -p "$cudnn_root/lib"
    ln -s "$wheel/include" "$cudnn_root/include"
    ln -s "$lib" "$cudnn_root/lib/libcudnn.so"
    cmake_args+=("-DCUDNN_ROOT=$cudnn_root")
    runtime_libs+=("$wheel/lib")
    deps_note+=("cuDNN from $wheel")
  else
    cmake_args+=(-DMINIDL_CUDNN=OFF)
    deps_note+=("no cuDNN found: built without the cuDNN engine (its cases are skipped)")
  fi
fi
if ((${#runtime_libs[@]})); then
  rpath=$(IFS=:; echo "${runtime_libs[*]}")
  cmake_args+=("-DCMAKE_BUILD_RPATH=$rpath")
fi
if [[ ! -f $DATA_DIR/cifar-10-batches-bin/test_batch.bin ]]; then
  if [[ -x .device/cifar/make-cifar10-bin ]]; then
    run_stage data 120 .device/cifar/make-cifar10-bin "$DATA_DIR" || true
  fi
fi
if [[ -f $DATA_DIR/cifar-10-batches-bin/test_batch.bin ]]; then deps_note+=("CIFAR-10 in $DATA_DIR")
else deps_note+=("no CIFAR-10: the resnet9 stage is skipped"); fi
note "deps: $(IFS=';'; echo "${deps_note[*]}")"

# ---- build ---------------------------------------------------------------------------------------
: > "$out/build.log"
t_build=$(date +%s)
if run_stage build 120 cmake "${cmake_args[@]}" &&
   run_stage build $(( $(left) - 200 )) cmake --build "$BUILD_DIR" -j "$JOBS" --target minidl_cuda_tests train_cifar bench_ops; then
  note "build: PASS in $(( $(date +%s) - t_build )) s ($(grep -o 'minidl: CUDA backend.*' "$out/build.log" | head -1))"
else
  note "build: FAIL after $(( $(date +%s) - t_build )) s (build.log: $(grep -m1 -E 'error|Error' "$out/build.log"))"
  finish 1
fi
tests=$BUILD_DIR/tests/minidl_cuda_tests

# ---- cuda_tests ----------------------------------------------------------------------------------
run_stage cuda_tests 150 "$tests"
rc=$?
result=$(grep -E "^(All tests passed|test cases:)" "$out/cuda_tests.log" | tail -1)
skipped=$(grep -c "^SKIPPED:" "$out/cuda_tests.log")
if (( rc == 0 )); then note "cuda_tests: PASS in ${stage_seconds} s: $result; $skipped skipped"
elif (( rc == 77 )); then
  note "cuda_tests: FAIL: nvidia-smi lists a GPU but the CUDA runtime finds none (driver / runtime mismatch?)"
  finish 1
else note "cuda_tests: FAIL (exit $rc) in ${stage_seconds} s: ${result:-see cuda_tests.log}"; failed=1; fi

# ---- resnet9: the reference recipe ---------------------------------------------------------------
if [[ -f $DATA_DIR/cifar-10-batches-bin/test_batch.bin ]]; then
  # Keep ~170 s for the bench and the two sanitizer runs.
  run_stage resnet9 $(( $(left) - 170 )) "$BUILD_DIR/apps/train_cifar" --model resnet9 --optimizer adam \
    --scheduler onecycle --lr-find --epochs "$EPOCHS" --pct-start 0.2083 --batch-size 512 \
    --augment flip-crop-cutout --device cuda --data "$DATA_DIR" --out "$out/resnet9"
  rc=$?
  last=$(grep -E '^epoch +[0-9]+/' "$out/resnet9.log" | tail -1)
  done_epochs=$(sed -E 's|^epoch +([0-9]+)/.*|\1|' <<<"$last")
  acc=$(grep -oE 'test loss [0-9.]+ acc +[0-9.]+%' <<<"$last" | grep -oE '[0-9.]+%$')
  tta=$(grep -oE 'final test accuracy with flip test-time augmentation: [0-9.]+%' "$out/resnet9.log" | grep -oE '[0-9.]+%')
  if (( rc == 0 )) && [[ ${done_epochs:-0} == "$EPOCHS" ]]; then
    note "resnet9: PASS: test accuracy $acc after $EPOCHS epochs (flip TTA ${tta:-n/a}), wall time ${stage_seconds} s (includes the LR finder)"
  elif [[ -n $last ]]; then
    note "resnet9: INCOMPLETE (exit $rc, the budget's time limit) after ${done_epochs}/$EPOCHS epochs in ${stage_seconds} s: test accuracy $acc at epoch $done_epochs"
  else
    note "resnet9: FAIL (exit $rc) in ${stage_seconds} s: $(tail -1 "$out/resnet9.log")"
    failed=1
  fi
else
  note "resnet9: SKIPPED: no CIFAR-10 in $DATA_DIR (run tools/gpu_prepare.sh and carry .device)"
fi

# ---- bench: hand-written vs cuDNN vs PyTorch ------------------------------------------------------
: > "$out/bench.log"
t_bench=$(date +%s)
if run_stage bench $(( $(left) - 120 )) "$BUILD_DIR/apps/bench_ops" --device cuda --engine both --repeats 3 \
     --json "$out/bench_minidl.json" &&
   run_stage bench $(( $(left) - 100 )) python3 apps/bench_ops_torch.py --cases "$out/bench_minidl.json" \
     --device cuda --repeats 3 --json "$out/bench_torch.json" &&
   python3 apps/bench_table.py --minidl "$out/bench_minidl.json" --torch "$out/bench_torch.json" > "$out/bench.md"; then
  note "bench: PASS in $(( $(date +%s) - t_bench )) s: bench.md ($(grep -c '^|' "$out/bench.md") table rows)"
else
  note "bench: FAIL or cut short after $(( $(date +%s) - t_bench )) s (see bench.log)"; failed=1
fi

# ---- compute-sanitizer ---------------------------------------------------------------------------
filter='[cuda]~[gradcheck]~[sweep]'
for tool in memcheck racecheck; do
  if ! command -v compute-sanitizer >/dev/null 2>&1; then note "$tool: SKIPPED: compute-sanitizer not found"; continue; fi
  if [[ $tool == memcheck ]]; then limit=$(( $(left) - 50 )); else limit=$(left); fi
  run_stage "$tool" "$limit" env MINIDL_CUDA_NO_CACHE=1 compute-sanitizer --tool "$tool" --error-exitcode 99 \
    "$tests" "$filter"
  rc=$?
  errors=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/$tool.log" | tail -1)
  if grep -q "Device not supported" "$out/$tool.log"; then
    # Seen on gVisor machines: the sanitizer refuses the device (Firecracker ones work).
    note "$tool: SKIPPED: compute-sanitizer does not support the device on this machine (see $tool.log)"
  elif (( rc == 0 )); then note "$tool: PASS in ${stage_seconds} s: ${errors:-no summary line}"
  elif (( rc == 124 || rc == 137 )); then note "$tool: INCOMPLETE (time limit) after ${stage_seconds} s: ${errors:-no summary yet}"
  else note "$tool: FAIL (exit $rc) in ${stage_seconds} s: ${errors:-see $tool.log}"; failed=1; fi
done

finish $failed
