#!/usr/bin/env bash
# minidl's checks on a machine with an NVIDIA GPU (sm_90: H100 / H200), in two parts sized for the
# GPU machine's short visits (at most 10 minutes a command, about 15 minutes in all with its
# start-up). Run part 1, then part 2 on the same machine: part 2 reuses part 1's build folder (and
# builds what is missing, which costs it time, when the machine is a fresh one).
#
#   tools/gpu_check.sh --part 1 OUT   tools, configure for sm_90 (apps off: the test runner needs no
#                                     PLplot), build minidl_cuda_tests; then, at once: the [cuda]
#                                     suite through ctest (JUnit XML) and compute-sanitizer on the
#                                     hand-written kernels' cases ([cuda]~[cudnn]~[cublas]): memcheck
#                                     with the caching allocator off and on, racecheck
#   tools/gpu_check.sh --part 2 OUT   tools, configure with the apps, build train_cifar and
#                                     bench_ops, CIFAR-10 from .device/cifar, bench_ops one op group
#                                     per run (cuDNN's engine too when it was found) and PyTorch's
#                                     side, then resnet9 with the reference recipe for as many
#                                     epochs (at most 24) as the time left allows: a one-epoch probe
#                                     on part of the data measures the speed that decides
#   tools/gpu_check.sh --rehearse OUT both parts' plumbing on this machine, for CI: the CUDA
#                                     interpreter build (MINIDL_CUDA=EMULATE, BUILD_DIR build-emu)
#                                     stands in for nvcc, tiny sizes, no compute-sanitizer
#
# Each part stops every stage in time to end within GPU_CHECK_BUDGET seconds (default 300 for
# part 1 and 360 for part 2: 11 minutes together, which leaves the machine's start-up and the
# transfers room in a 15-minute visit; rehearsal 1200). What it leaves in OUT (at most
# 8 files, the device tool's limit):
#   summary.txt    one line per stage: "stage: PASS|FAIL|INCOMPLETE|SKIPPED key=value ..."
#   cuda_tests.xml ctest's JUnit XML of the [cuda] suite (part 1)
#   bench.md       hand-written vs cuDNN vs PyTorch per op (part 2; apps/bench_table.py)
#   resnet9.json   the training run's metrics.json (part 2)
#   logs.tar.gz    every stage's log, the bench JSON files, the run's small files
# Exit status: 0 every stage passed (or was skipped, with its reason), 1 a check failed, 3 none
# failed but something did not finish in time, 2 this machine cannot run the check (no GPU, or a
# tool or library missing: the "tools" line names what).
#
# Before the visit, on the development machine: tools/gpu_prepare.sh (headers, PLplot, pkg-config,
# cuDNN headers and the CIFAR-10 archive into .device/, which the device tool carries).
# Settings (environment): GPU_CHECK_BUDGET, BUILD_DIR (build-gpu), JOBS (all cores), DATA_DIR
# (datasets), RESNET9_EPOCHS (24), PROBE_IMAGES (10240), BENCH_CAP (bench_ops' seconds, 100),
# TORCH_CAP (PyTorch's, 60), TRAIN_MIN (the seconds part 2 keeps for resnet9, 150), BENCH_REPEATS
# (3), SANITIZE_FILTER ([cuda]~[cudnn]~[cublas]).
# Not measured yet (no GPU run so far): the build's, the suite's and the sanitizers' minutes on the
# GPU machine; the first visit's summary.txt is what these defaults should be tuned with.
set -Eeuo pipefail
trap 'echo "gpu_check: line $LINENO: a command failed (exit $?)" >&2' ERR

usage() { echo "usage: tools/gpu_check.sh --part 1|2 OUT_DIR   or   tools/gpu_check.sh --rehearse OUT_DIR" >&2; exit 2; }
mode=""
case ${1:-} in
  --part) [[ ${2:-} == 1 || ${2:-} == 2 ]] || usage; mode=part$2; shift 2 ;;
  --rehearse) mode=rehearse; shift ;;
  *) usage ;;
esac
[[ $# == 1 ]] || usage
mkdir -p "$1"
out=$(cd "$1" && pwd)  # before the cd below: OUT_DIR is relative to the caller's folder
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
rehearse=0
[[ $mode == rehearse ]] && rehearse=1

case $mode in part1) budget=${GPU_CHECK_BUDGET:-300} ;; part2) budget=${GPU_CHECK_BUDGET:-360} ;;
  *) budget=${GPU_CHECK_BUDGET:-1200} ;; esac
if ((rehearse)); then BUILD_DIR=${BUILD_DIR:-build-emu}; else BUILD_DIR=${BUILD_DIR:-build-gpu}; fi
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
DATA_DIR=${DATA_DIR:-datasets}
EPOCHS=${RESNET9_EPOCHS:-24}
PROBE_IMAGES=${PROBE_IMAGES:-10240}
BENCH_CAP=${BENCH_CAP:-100}
TORCH_CAP=${TORCH_CAP:-60}
TRAIN_MIN=${TRAIN_MIN:-150}
BENCH_REPEATS=${BENCH_REPEATS:-3}
SANITIZE_FILTER=${SANITIZE_FILTER:-[cuda]~[cudnn]~[cublas]}
t_start=$(date +%s)
deadline=$(( t_start + budget - 15 ))  # the last 15 s: packing the logs and the summary

summary=$out/summary.txt
logs=$out/logs                          # packed into logs.tar.gz at the end
rm -rf "$logs" "$out/logs.tar.gz" "$out/cuda_tests.xml" "$out/bench.md" "$out/resnet9.json"
mkdir -p "$logs"
: > "$summary"
failed=0 incomplete=0 stopping=0  # stopping: a stage recorded why the part cannot go on
declare -A pids=()

# ---- helpers ----------------------------------------------------------------------------------------
now() { date +%s; }
left() { echo $(( deadline - $(now) )); }
say() { echo "gpu_check: $*" >&2; }
# kv KEY VALUE: key=value, quoted when the value is empty or has spaces (shlex-readable).
kv() { local v=${2//\"/\'}; if [[ -z $v || $v == *[[:space:]]* ]]; then printf '%s="%s"' "$1" "$v"; else printf '%s=%s' "$1" "$v"; fi; }
# record STAGE STATUS [key=value ...]: one summary line; FAIL and INCOMPLETE decide the exit status.
record() {
  local stage=$1 status=$2; shift 2
  local line="$stage: $status${*:+ $*}"
  echo "$line" >> "$summary"
  echo "== $line" >&2
  case $status in FAIL) failed=1 ;; INCOMPLETE) incomplete=1 ;; esac
}
version_ge() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1) == "$2" ]]; }
# start_job NAME LIMIT CMD...: CMD in the background under a time limit (timeout signals its whole
# process group), output appended to logs/NAME.log; finish_job NAME waits and sets job_rc (124 or
# 137: the limit stopped it) and job_s (its seconds).
start_job() {
  local name=$1 limit=$2; shift 2
  echo "== $(date -u +%T) limit ${limit}s: $*" >> "$logs/$name.log"
  say "$name: started (limit ${limit}s)"
  (
    t0=$(now) rc=0
    timeout --kill-after=20 "$limit" "$@" >> "$logs/$name.log" 2>&1 &
    echo $! > "$logs/$name.pid"
    wait $! || rc=$?
    echo "$rc $(( $(now) - t0 ))" > "$logs/$name.rc"
  ) &
  pids[$name]=$!
}
finish_job() {
  wait "${pids[$1]}" || true
  unset "pids[$1]"
  read -r job_rc job_s < "$logs/$1.rc"
  rm -f "$logs/$1.rc" "$logs/$1.pid"
}
run_job() { start_job "$@"; finish_job "$1"; }
timed_out() { [[ $job_rc == 124 || $job_rc == 137 ]]; }
data_ready() { [[ -f $1/cifar-10-batches-bin/test_batch.bin && -f $1/cifar-10-batches-bin/data_batch_5.bin ]]; }
# last_error LOG: the first line that looks like the reason a command failed.
last_error() { grep -m1 -iE 'error|fail|abort|what\(\)|not found|cannot' "$1" 2>/dev/null | cut -c1-200 || true; }

# The end, however it comes (also a TERM from outside): the logs packed (the device tool brings
# back 8 files at most), the summary printed, the exit status from the worst stage.
finalize() {
  local rc=$? name tpid i
  trap - EXIT TERM INT ERR
  # Jobs still running (a TERM from outside): TERM to their timeout, which passes it on (train_cifar
  # then stops after its batch), KILL after 10 s.
  for name in "${!pids[@]}"; do
    tpid=$(cat "$logs/$name.pid" 2>/dev/null) && kill -TERM "$tpid" 2>/dev/null || true
  done
  for ((i = 0; i < 10; i++)); do
    jobs -rp | grep -q . || break
    sleep 1
  done
  for name in "${!pids[@]}"; do
    tpid=$(cat "$logs/$name.pid" 2>/dev/null) && kill -KILL "$tpid" 2>/dev/null || true
    record "$name" INCOMPLETE "$(kv why "gpu_check.sh was stopped while it ran")"
  done
  wait 2>/dev/null || true
  rm -f "$logs"/*.pid "$logs"/*.rc
  if (( rc > 128 )); then record interrupted INCOMPLETE "$(kv signal $((rc - 128)))"
  elif (( rc != 0 && rc != 2 && stopping == 0 )); then
    record gpu_check FAIL "$(kv why "gpu_check.sh itself failed (exit $rc; its line is in the output)")"
  fi
  # A log that ran away (thousands of sanitizer reports) keeps its head and tail.
  find "$logs" -type f -size +4M | while read -r f; do
    { head -c 1M "$f"; printf '\n[... cut by gpu_check.sh ...]\n'; tail -c 1M "$f"; } > "$f.cut" && mv "$f.cut" "$f"
  done
  tar -C "$out" -czf "$out/logs.tar.gz" logs && rm -rf "$logs"
  local status=PASS code=0
  if (( rc == 2 )); then status=FAIL code=2
  elif ((failed)); then status=FAIL code=1
  elif ((incomplete)); then status=INCOMPLETE code=3; fi
  record total "$status" "$(kv exit "$code")" "$(kv seconds $(( $(now) - t_start )))" "$(kv budget "$budget")" "$(kv mode "$mode")"
  echo "---- $summary" >&2
  cat "$summary" >&2
  exit "$code"
}
trap finalize EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- tools: every version up front, what is missing in one line --------------------------------------
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH=$PATH:/usr/local/cuda/bin
# The prefix that tools/gpu_prepare.sh packed (headers, PLplot, pkg-config) for a machine without them.
prefix=""
if [[ -f .device/deps.tar.xz ]]; then
  prefix=/tmp/minidl-deps
  rm -rf "$prefix" && mkdir -p "$prefix" && tar -C "$prefix" -xJf .device/deps.tar.xz
  export CMAKE_PREFIX_PATH=$prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export PLPLOT_LIB=$prefix/share/plplot PLPLOT_DRV_DIR=$prefix/lib/plplot/drivers
  export FONTCONFIG_FILE=$prefix/etc/fonts/fonts.conf
  export PATH=$PATH:$prefix/bin  # the machine's own pkg-config first, the carried one otherwise
fi
need_apps=$([[ $mode == part1 ]] && echo 0 || echo 1)
found=() missing=() notes=()
tool_version() {  # tool_version NAME COMMAND...: the first x.y[.z] its version output shows
  local v
  v=$("${@:2}" 2>&1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -1) || true
  echo "${v:-unknown}"
}
need_cmake=$(sed -nE 's/^cmake_minimum_required\(VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
  v=$(tool_version cmake cmake --version); found+=("$(kv cmake "$v")")
  version_ge "$v" "$need_cmake" || missing+=("cmake >= $need_cmake (this one is $v)")
else missing+=("cmake and ctest >= $need_cmake"); fi
if command -v g++ >/dev/null; then found+=("$(kv gcc "$(tool_version g++ g++ -dumpfullversion)")")
else missing+=("g++"); fi
command -v ninja >/dev/null || command -v make >/dev/null || missing+=("make or ninja")
for t in timeout tar; do command -v $t >/dev/null || missing+=("$t"); done
if ((rehearse)); then
  found+=("$(kv gpu "none: the CUDA interpreter stands in (rehearsal)")")
else
  if gpus=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null) && [[ -n $gpus ]]; then
    found+=("$(kv gpu "${gpus%%,*}")" "$(kv driver "$(head -1 <<<"$gpus" | sed 's/.*, *//')")")
  else missing+=("an NVIDIA GPU (nvidia-smi lists none)"); fi
  if command -v nvcc >/dev/null; then found+=("$(kv nvcc "$(nvcc --version | sed -nE 's/.*release ([0-9.]+).*/\1/p')")")
  else missing+=("nvcc (the CUDA toolkit; looked on PATH and in /usr/local/cuda/bin)"); fi
  if [[ $mode == part1 ]]; then
    # The toolkit keeps it in compute-sanitizer/ beside bin/ (not every install links it into bin).
    if ! command -v compute-sanitizer >/dev/null && command -v nvcc >/dev/null; then
      cs=$(dirname "$(readlink -f "$(command -v nvcc)")")/../compute-sanitizer
      [[ -x $cs/compute-sanitizer ]] && export PATH=$PATH:$cs
    fi
    if command -v compute-sanitizer >/dev/null; then found+=("$(kv compute-sanitizer "$(tool_version compute-sanitizer compute-sanitizer --version)")")
    else notes+=("no compute-sanitizer: memcheck and racecheck are skipped"); fi
  fi
fi
# Headers the build needs: the machine's, or the carried prefix's.
have_header() { local d; for d in /usr/include /usr/local/include ${prefix:+$prefix/include}; do [[ -f $d/$1 ]] && return 0; done; return 1; }
for h in eigen3/Eigen/Core nlohmann/json.hpp catch2/catch.hpp; do have_header "$h" || missing+=("$h"); done
if ((need_apps)); then
  have_header CLI/CLI.hpp || missing+=("CLI/CLI.hpp (CLI11)")
  if command -v pkg-config >/dev/null; then
    found+=("$(kv pkg-config "$(tool_version pkg-config pkg-config --version)")")
    pkg-config --exists plplot-c++ || missing+=("PLplot (pkg-config plplot-c++)")
  else missing+=("pkg-config (the apps find PLplot with it)"); fi
fi
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}') || true
found+=("$(kv glibc "${glibc:-unknown}")")
if [[ -n $prefix && -f $prefix/share/minidl-deps-glibc && -n $glibc ]] && ((need_apps)); then
  want=$(cat "$prefix/share/minidl-deps-glibc")
  version_ge "$glibc" "$want" || notes+=("the carried PLplot cairo driver needs glibc $want (here $glibc): train_cifar's pictures (and --lr-find's) will fail")
fi
python=""
if command -v python3 >/dev/null; then
  python=python3
  found+=("$(kv python3 "$(tool_version python3 python3 --version)")")
  torch=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null) || torch=""
  if [[ -n $torch ]]; then found+=("$(kv torch "$torch")"); else notes+=("no PyTorch: its side of the bench is skipped"); fi
  if [[ $mode == part2 ]] && ! data_ready "$DATA_DIR" && ! python3 -c 'import PIL, numpy' 2>/dev/null; then
    notes+=("no PIL/numpy for the CIFAR-10 builder and no $DATA_DIR: resnet9 will be skipped")
  fi
else
  torch=""
  ((need_apps)) && notes+=("no python3: no CIFAR-10 builder, no bench table, no PyTorch side")
fi
[[ -n $prefix ]] && notes+=("headers, PLplot and pkg-config from .device/deps.tar.xz as needed")
if ((${#missing[@]})); then
  record tools FAIL "$(kv missing "$(IFS=';'; echo "${missing[*]}")")" "${found[@]}" \
    "$(kv fix "install them, or run tools/gpu_prepare.sh on the development machine and carry .device")" \
    ${notes[@]+"$(kv notes "$(IFS=';'; echo "${notes[*]}")")"}
  exit 2
fi
record tools PASS "${found[@]}" "$(kv cores "$JOBS")" ${notes[@]+"$(kv notes "$(IFS=';'; echo "${notes[*]}")")"}

# ---- configure: sm_90, cuDNN when found (the system's, PyTorch's wheel, or the carried headers) -----
cmake_args=(-S . -B "$BUILD_DIR")
runtime_libs=()
cudnn_note=""
if ((rehearse)); then
  # That tree runs under AddressSanitizer, whose leak check at exit would fail train_cifar for what
  # PLplot's libraries keep until the end (fontconfig's font cache, libltdl's driver handles):
  # those two are not minidl's to free.
  printf 'leak:libfontconfig.so\nleak:libltdl.so\n' > "$logs/lsan.supp"
  export LSAN_OPTIONS=suppressions=$logs/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
  # The tree `./build.sh sanitize` builds: reused as it is when it exists (same flags, no rebuild).
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    # shellcheck disable=SC2054  # the comma is in the value
    cmake_args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMINIDL_CUDA=EMULATE -DMINIDL_SANITIZE=address,undefined)
  fi
  cmake_args+=(-DMINIDL_BUILD_APPS=ON)
else
  cmake_args+=(-DCMAKE_BUILD_TYPE=Release -DMINIDL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
               "-DMINIDL_BUILD_APPS=$( ((need_apps)) && echo ON || echo OFF)")
  [[ ! -f $BUILD_DIR/CMakeCache.txt ]] && command -v ninja >/dev/null && cmake_args+=(-G Ninja)
  # CMake 4 refuses packages that still declare a policy version below 3.5 (older Catch2 configs).
  version_ge "$(tool_version cmake cmake --version)" 4.0 && cmake_args+=(-DCMAKE_POLICY_VERSION_MINIMUM=3.5)
  cudnn_root="" cudnn_note="none"
  for dir in ${CUDNN_ROOT:-} /usr/local/cuda /usr; do
    if [[ -f $dir/include/cudnn.h || -f $dir/include/x86_64-linux-gnu/cudnn.h ]]; then cudnn_root=$dir; cudnn_note="system ($dir)"; break; fi
  done
  if [[ -z $cudnn_root && -n $python ]]; then
    # PyTorch's nvidia-cudnn wheel (nvidia/cudnn, or nvidia/cu13/... in newer layouts): its
    # libcudnn.so.9 (no unversioned name for the linker: a folder of links gives one), and its
    # headers, else the ones tools/gpu_prepare.sh carried (cuDNN 9's API is stable within 9.x).
    read -r wheel_lib wheel_inc < <(python3 - <<'EOF' 2>/dev/null || true
import os
try:
    import nvidia
except ImportError:
    raise SystemExit
lib = inc = ""
for p in nvidia.__path__:
    for root, dirs, files in os.walk(p):
        if not lib and "libcudnn.so.9" in files:
            lib = os.path.join(root, "libcudnn.so.9")
        if not inc and "cudnn.h" in files:
            inc = root
print(lib or "-", inc or "-")
EOF
)
    [[ ${wheel_inc:--} == - && -f .device/cudnn/include/cudnn.h ]] && wheel_inc=$root/.device/cudnn/include
    if [[ ${wheel_lib:--} != - && ${wheel_inc:--} != - ]]; then
      cudnn_root=/tmp/minidl-cudnn
      rm -rf "$cudnn_root" && mkdir -p "$cudnn_root/lib"
      ln -s "$wheel_inc" "$cudnn_root/include"
      ln -s "$wheel_lib" "$cudnn_root/lib/libcudnn.so"
      runtime_libs+=("$(dirname "$wheel_lib")")
      cudnn_note="PyTorch's wheel ($(dirname "$wheel_lib"); headers $wheel_inc)"
    fi
  fi
  if [[ -n $cudnn_root ]]; then cmake_args+=("-DCUDNN_ROOT=$cudnn_root" -DMINIDL_CUDNN=AUTO)
  else cmake_args+=(-DMINIDL_CUDNN=OFF); fi
  # The carried libraries are found through the programs' RPATH (DT_RPATH, which the libraries
  # they load inherit), not LD_LIBRARY_PATH, so python3 and the toolchain keep the machine's own.
  [[ -n $prefix ]] && runtime_libs+=("$prefix/lib")  # in both parts: the same flags, no relink
  if ((${#runtime_libs[@]})); then
    cmake_args+=("-DCMAKE_BUILD_RPATH=$(IFS=:; echo "${runtime_libs[*]}")"
                 "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags${prefix:+ -Wl,-rpath-link,$prefix/lib}")
  fi
fi

# ---- build ---------------------------------------------------------------------------------------------
case $mode in
  part1) targets=(minidl_cuda_tests) ;;
  part2) targets=(train_cifar bench_ops) ;;
  *) targets=(minidl_cuda_tests train_cifar bench_ops) ;;
esac
run_job build $(( $(left) < 120 ? $(left) : 120 )) cmake "${cmake_args[@]}"
configure_rc=$job_rc configure_s=$job_s
backend=$(grep -o 'minidl: CUDA backend.*' "$logs/build.log" | tail -1 | sed 's/^minidl: //')
if (( configure_rc != 0 )); then
  record build FAIL "$(kv step configure)" "$(kv seconds "$configure_s")" "$(kv error "$(last_error "$logs/build.log")")" "$(kv log logs/build.log)"
  stopping=1; exit 1
fi
run_job build $(( $(left) - 30 )) cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"
if (( job_rc != 0 )); then
  if timed_out; then record build INCOMPLETE "$(kv seconds $((configure_s + job_s)))" "$(kv why "time limit")"
  else record build FAIL "$(kv seconds $((configure_s + job_s)))" "$(kv error "$(last_error "$logs/build.log")")" "$(kv log logs/build.log)"; fi
  stopping=1; exit 1
fi
with_cudnn=0
[[ $backend == *cuDNN\ [0-9]* ]] && with_cudnn=1
record build PASS "$(kv seconds $((configure_s + job_s)))" "$(kv targets "${targets[*]}")" "$(kv backend "${backend:-unknown}")" \
  ${cudnn_note:+"$(kv cudnn_from "$cudnn_note")"}
tests=$BUILD_DIR/tests/minidl_cuda_tests
apps=$BUILD_DIR/apps

# ---- part 1: the [cuda] suite and compute-sanitizer, at once (one GPU, 16 cores) -----------------------
# catch_summary LOG: Catch2's last verdict line ("All tests passed (...)" or "test cases: ...").
# Under ctest -V each line starts with the test's number ("1: ").
catch_summary() { grep -E '^([0-9]+: )?(All tests passed|test cases:)' "$1" | tail -1 | sed -E 's/^[0-9]+: //' | tr -s ' ' || true; }
cases_done() { grep -cE '^[0-9]+\.[0-9]+ s: ' "$1" || true; }
part1() {
  local limit=$(( $(left) - 5 ))
  (( limit < 30 )) && { record cuda_tests INCOMPLETE "$(kv why "no time left after the build")"; return; }
  # ctest runs the suite (cuda_vendor_tests too where a vendor library is missing: skipped by
  # name); its JUnit file is written when ctest ends. The rehearsal runs only the cheap vendor
  # entry: the interpreter suite itself is `./build.sh sanitize`'s.
  local regex='^cuda_(tests|vendor_tests)$'
  ((rehearse)) && regex='^cuda_vendor_tests$'
  local sanitizers=(memcheck:off memcheck:on racecheck:on)  # tool:caching allocator
  local threads=$(( JOBS / (1 + ${#sanitizers[@]}) )); (( threads < 1 )) && threads=1
  start_job cuda_tests "$limit" env OMP_NUM_THREADS=$threads ctest --test-dir "$BUILD_DIR" -R "$regex" \
    --no-tests=error -V --output-junit "$out/cuda_tests.xml"
  # memcheck with the cache off sees every tensor's exact size; with it on, the allocator the
  # programs use (reuse, rounding, the out-of-memory retry); races do not depend on it.
  local s tool cache name filter=$SANITIZE_FILTER sanitize=1 why=""
  if ((rehearse)); then
    sanitize=0 filter='[cuda][softmax]~[gradcheck]~[cudnn]~[cublas]' why="rehearsal: no compute-sanitizer here"
  elif ! command -v compute-sanitizer >/dev/null; then
    sanitize=0 why="compute-sanitizer not found"
  fi
  for s in "${sanitizers[@]}"; do
    tool=${s%%:*} cache=${s##*:}; name=$tool$([[ $cache == on ]] && echo _cached || true)
    local no_cache=0; [[ $cache == off ]] && no_cache=1
    if ((sanitize)); then
      start_job "$name" "$limit" env OMP_NUM_THREADS=$threads MINIDL_CUDA_NO_CACHE=$no_cache \
        compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 100 "$tests" "$filter" -d yes
    elif ((rehearse)); then
      # The same runner command line without the sanitizer, on a few cases: the plumbing runs.
      start_job "$name" "$limit" env OMP_NUM_THREADS=$threads MINIDL_CUDA_NO_CACHE=$no_cache \
        "$tests" "$filter" -d yes
    fi
  done

  finish_job cuda_tests
  local verdict skipped
  verdict=$(grep -E '^[0-9]+% tests passed' "$logs/cuda_tests.log" | tail -1 || true)
  skipped=$(grep -cE '^([0-9]+: )?SKIPPED:' "$logs/cuda_tests.log" || true)
  local common=("$(kv seconds "$job_s")" "$(kv ctest "$verdict")") catch2
  catch2=$(catch_summary "$logs/cuda_tests.log")
  [[ -n $catch2 ]] && common+=("$(kv catch2 "$catch2")")
  common+=("$(kv skipped_cases "$skipped")")
  [[ -f $out/cuda_tests.xml ]] && common+=("$(kv junit cuda_tests.xml)")
  if (( job_rc == 0 )); then record cuda_tests PASS "${common[@]}"
  elif timed_out; then record cuda_tests INCOMPLETE "${common[@]}" "$(kv why "time limit (${limit}s)")"
  else record cuda_tests FAIL "${common[@]}" "$(kv exit "$job_rc")" "$(kv first_error "$(last_error "$logs/cuda_tests.log")")"; fi

  for s in "${sanitizers[@]}"; do
    tool=${s%%:*} cache=${s##*:}; name=$tool$([[ $cache == on ]] && echo _cached || true)
    if ! ((sanitize)) && ! ((rehearse)); then record "$name" SKIPPED "$(kv cache "$cache")" "$(kv why "$why")"; continue; fi
    finish_job "$name"
    local log=$logs/$name.log report
    report=$(grep -E '(ERROR|RACECHECK) SUMMARY' "$log" | tail -1 | sed 's/^=* *//' || true)
    common=("$(kv cache "$cache")" "$(kv filter "$filter")" "$(kv seconds "$job_s")" "$(kv cases_done "$(cases_done "$log")")")
    if ((rehearse)); then
      if (( job_rc == 0 )); then record "$name" SKIPPED "${common[@]}" "$(kv why "$why")" "$(kv plumbing "runner PASS without the sanitizer")"
      else record "$name" FAIL "${common[@]}" "$(kv why "the runner failed without the sanitizer")" "$(kv exit "$job_rc")"; fi
    elif grep -q "Device not supported" "$log"; then
      # Seen on gVisor machines: the sanitizer refuses the device (Firecracker ones work).
      record "$name" SKIPPED "${common[@]}" "$(kv why "compute-sanitizer: device not supported on this machine")"
    elif (( job_rc == 0 )); then record "$name" PASS "${common[@]}" "$(kv report "$report")"
    elif timed_out; then record "$name" INCOMPLETE "${common[@]}" "$(kv why "time limit (${limit}s)")" "$(kv errors_so_far "$(grep -c '^========= [A-Z][a-z]' "$log" || true)")"
    else record "$name" FAIL "${common[@]}" "$(kv exit "$job_rc")" "$(kv report "$report")" "$(kv first "$(grep -m1 -E '^========= (Invalid|Error|Race|Uninit|Program hit)' "$log" | cut -c1-160 || true)")"; fi
  done
}

# ---- part 2: CIFAR-10, the bench, resnet9 ----------------------------------------------------------------
stage_data() {
  if ((rehearse)); then
    # A tiny stand-in: 5 x 16 training and 16 test records of random pixels (labels 0-9 in turn),
    # in the binary version's format; the run's plumbing, not its accuracy, is rehearsed.
    DATA_DIR=$BUILD_DIR/gpu_check_cifar
    local d=$DATA_DIR/cifar-10-batches-bin f i
    rm -rf "$DATA_DIR" && mkdir -p "$d"
    for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
      for ((i = 0; i < 16; i++)); do printf "\\x0$((i % 10))"; head -c 3072 /dev/urandom; done > "$d/$f.bin"
    done
    record data PASS "$(kv images "80 train / 16 test (random, rehearsal)")"
    return
  fi
  if ! data_ready "$DATA_DIR" && [[ -x .device/cifar/make-cifar10-bin ]]; then
    run_job data 120 .device/cifar/make-cifar10-bin "$DATA_DIR" || true
  fi
  if data_ready "$DATA_DIR"; then record data PASS "$(kv folder "$DATA_DIR/cifar-10-batches-bin")"
  else record data FAIL "$(kv why "no CIFAR-10 in $DATA_DIR and none built from .device/cifar (run tools/gpu_prepare.sh, carry .device)")" \
    "$(kv log logs/data.log)"; fi
}

stage_bench() {
  ((rehearse)) && TRAIN_MIN=60
  local limit_total=$(( $(left) - TRAIN_MIN ))  # the rest: resnet9
  (( limit_total > BENCH_CAP )) && limit_total=$BENCH_CAP
  local bench_end=$(( $(now) + limit_total )) dir=$logs/bench repeats=$BENCH_REPEATS
  mkdir -p "$dir"
  ((rehearse)) && repeats=1
  if (( limit_total < 20 )); then
    record bench_ops INCOMPLETE "$(kv why "no time left")"
    if [[ -n $torch ]]; then record bench_torch INCOMPLETE "$(kv why "no time left")"; else record bench_torch SKIPPED "$(kv why "no PyTorch in python3")"; fi
    return
  fi
  # The case list, then one bench_ops run per op (and per engine): bench_ops writes its JSON only
  # when it ends, so a time limit loses the group in flight (its lines stay in bench_ops.log), not
  # the finished ones.
  run_job bench_ops 60 "$apps/bench_ops" --device cuda --list --json "$dir/cases.json"
  if (( job_rc != 0 )); then record bench_ops FAIL "$(kv step "--list")" "$(kv error "$(last_error "$logs/bench_ops.log")")"; return; fi
  local ops=() op engine groups=() g
  mapfile -t ops < <(grep -oE '"op": *"[a-z0-9_]+"' "$dir/cases.json" | sed -E 's/.*"([a-z0-9_]+)"$/\1/' | awk '!seen[$0]++')
  # The rehearsal's few cheap cases (the interpreter is slow on the real shapes).
  ((rehearse)) && ops=(cross_entropy softmax linear)
  for op in "${ops[@]}"; do groups+=("$op:native"); done
  if ((with_cudnn)); then groups+=(conv2d:cudnn batch_norm:cudnn); fi
  local done_groups=0 cut="" t0 files=()
  t0=$(now)
  for g in "${groups[@]}"; do
    op=${g%%:*} engine=${g##*:}
    local lim=$(( bench_end - $(now) ))
    if (( lim < 5 )); then cut=${cut:-$g}; break; fi
    # --filter is a substring: "softmax" also runs log_softmax; bench_table.py keeps one of each.
    run_job bench_ops "$lim" "$apps/bench_ops" --device cuda --engine "$engine" --filter "$op" \
      --repeats "$repeats" --json "$dir/minidl-$op-$engine.json"
    if (( job_rc == 0 )); then done_groups=$((done_groups + 1)); files+=("$dir/minidl-$op-$engine.json")
    elif timed_out; then cut=$g; break
    else record bench_ops FAIL "$(kv group "$g")" "$(kv exit "$job_rc")" "$(kv error "$(last_error "$logs/bench_ops.log")")"; return; fi
  done
  local n_cases
  n_cases=$(cat "${files[@]}" /dev/null | grep -cE '"fwdbwd_ms"' || true)
  local common=("$(kv groups "$done_groups/${#groups[@]}")" "$(kv results "$n_cases")" "$(kv seconds $(( $(now) - t0 )))"
                "$(kv cudnn "$( ((with_cudnn)) && echo yes || echo "no (not found at configure)")")" "$(kv repeats "$repeats")")
  if [[ -n $cut ]]; then record bench_ops INCOMPLETE "${common[@]}" "$(kv cut_at "$cut")" "$(kv why "bench time cap ${limit_total}s")"
  else record bench_ops PASS "${common[@]}"; fi

  # PyTorch on the same cases: two runs (conv2d, the rest), as each pays for importing torch.
  local torch_files=()
  if [[ -z $torch ]]; then
    record bench_torch SKIPPED "$(kv why "no PyTorch in python3")"
  elif ((${#files[@]} == 0)); then
    record bench_torch SKIPPED "$(kv why "no bench_ops results to compare with")"
  else
    local tdev=cuda; ((rehearse)) && tdev=cpu
    local part lim tcut="" tn=0 t1 parts=() torch_end
    t1=$(now)
    torch_end=$(( t1 + ($(left) - TRAIN_MIN < TORCH_CAP ? $(left) - TRAIN_MIN : TORCH_CAP) ))
    mapfile -t parts < <(python3 - "$dir" "${files[@]}" <<'EOF'
import json, sys
# Splits the finished groups' cases into conv2d and the rest, each a bench_ops-shaped JSON file.
out_dir, files = sys.argv[1], sys.argv[2:]
head, parts = None, {"conv2d": [], "other": []}
for f in files:
    data = json.load(open(f))
    head = head or {k: v for k, v in data.items() if k != "results"}
    for r in data["results"]:
        parts["conv2d" if r["op"] == "conv2d" else "other"].append(r)
for name, rs in parts.items():
    if rs:
        json.dump(dict(head, results=rs), open(f"{out_dir}/torch-cases-{name}.json", "w"))
        print(name)
EOF
)
    for part in "${parts[@]}"; do
      lim=$(( torch_end - $(now) ))
      if (( lim < 10 )); then tcut=$part; break; fi
      run_job bench_torch "$lim" python3 apps/bench_ops_torch.py --cases "$dir/torch-cases-$part.json" --device "$tdev" \
        --repeats "$repeats" --json "$dir/torch-$part.json"
      if (( job_rc == 0 )); then torch_files+=("$dir/torch-$part.json"); tn=$((tn + 1))
      elif timed_out; then tcut=$part; break
      else record bench_torch FAIL "$(kv part "$part")" "$(kv exit "$job_rc")" "$(kv error "$(last_error "$logs/bench_torch.log")")"; tcut=failed; break; fi
    done
    common=("$(kv runs "$tn/${#parts[@]}")" "$(kv device "$tdev")" "$(kv seconds $(( $(now) - t1 )))")
    if [[ $tcut == failed ]]; then :
    elif [[ -n $tcut ]]; then record bench_torch INCOMPLETE "${common[@]}" "$(kv cut_at "$tcut")"
    else record bench_torch PASS "${common[@]}"; fi
  fi

  # bench.md: bench_table.py joins the files (an empty PyTorch file when it did not run).
  if [[ -z $python ]]; then record bench_table SKIPPED "$(kv why "no python3")"; return; fi
  if ((${#files[@]} == 0)); then record bench_table SKIPPED "$(kv why "no bench_ops results")"; return; fi
  if ((${#torch_files[@]} == 0)); then
    echo '{"framework": "torch (not run)", "device": "-", "threads": 0, "repeats": 0, "results": []}' > "$dir/torch-none.json"
    torch_files=("$dir/torch-none.json")
  fi
  if python3 apps/bench_table.py --minidl "${files[@]}" --torch "${torch_files[@]}" > "$out/bench.md" 2>> "$logs/bench_table.log"; then
    record bench_table PASS "$(kv file bench.md)" "$(kv rows "$(grep -c '^| ' "$out/bench.md" || true)")"
  else
    record bench_table FAIL "$(kv error "$(last_error "$logs/bench_table.log")")"; rm -f "$out/bench.md"
  fi
}

# json_num FILE KEY: the first number under "KEY" in a metrics.json (one key per line).
json_num() { grep -m1 -oE "\"$2\": *[0-9.eE+-]+" "$1" 2>/dev/null | sed -E 's/.*: *//' || true; }
stage_resnet9() {
  if ! data_ready "$DATA_DIR"; then record resnet9 SKIPPED "$(kv why "no CIFAR-10")"; return; fi
  # The reference recipe (README, docs/results.md); the rehearsal trades it for a tiny model,
  # batch and epoch count, and no LR finder (100 steps), on the stand-in data.
  local recipe=(--model resnet9 --optimizer adam --scheduler onecycle --lr-find --pct-start 0.2083 --batch-size 512
                --augment flip-crop-cutout --device cuda --data "$DATA_DIR")
  local cap=$EPOCHS probe=$PROBE_IMAGES lrfind_images=51200 label="resnet9 reference recipe"
  if ((rehearse)); then
    recipe=(--model convnet39k --optimizer adam --scheduler onecycle --max-lr 0.01 --pct-start 0.2083 --batch-size 16
            --augment flip-crop-cutout --device cuda --data "$DATA_DIR" --workers 1)
    cap=1 probe=32 lrfind_images=0 label="convnet39k, batch 16 (rehearsal)"
  fi
  local runs=$BUILD_DIR/gpu_check_runs  # checkpoints are large: outside OUT
  rm -rf "$runs" && mkdir -p "$runs"
  # The probe: one epoch on `probe` images. Its speed (first epoch: warm-up included, so the
  # estimate errs long) and its test pass decide how many epochs fit.
  local lim=$(( $(left) - 30 ))
  if (( lim < 30 )); then record resnet9 INCOMPLETE "$(kv why "no time left for the probe")"; return; fi
  local a probe_recipe=()
  for a in "${recipe[@]}"; do [[ $a == --lr-find ]] || probe_recipe+=("$a"); done
  run_job resnet9_probe "$lim" "$apps/train_cifar" "${probe_recipe[@]}" --epochs 1 --limit-train "$probe" --out "$runs/probe"
  local m=$runs/probe/metrics.json
  if (( job_rc != 0 )) || [[ ! -f $m ]]; then
    if timed_out; then record resnet9 INCOMPLETE "$(kv why "the one-epoch probe did not finish in ${lim}s")"
    else record resnet9 FAIL "$(kv step probe)" "$(kv exit "$job_rc")" "$(kv error "$(last_error "$logs/resnet9_probe.log")")"; fi
    return
  fi
  local probe_wall=$job_s sec ips n_train
  sec=$(json_num "$m" seconds) ips=$(json_num "$m" images_per_second)
  n_train=$(( $(cat "$DATA_DIR"/cifar-10-batches-bin/data_batch_*.bin | wc -c) / 3073 ))
  local plan
  plan=$(awk -v left="$(( $(left) - 20 ))" -v wall="$probe_wall" -v sec="$sec" -v ips="$ips" -v P="$probe" \
             -v N="$n_train" -v lrf="$lrfind_images" -v cap="$cap" 'BEGIN {
    train = N / ips; test = sec - P / ips; if (test < 0) test = 0
    fixed = wall - sec; if (fixed < 0) fixed = 0          # start-up: data, model, CUDA context
    per = train + test; extra = fixed + lrf / ips + 3 * test  # + LR finder, final eval with flip TTA
    e = int((0.9 * left - extra) / per); if (e > cap) e = cap; if (e < 0) e = 0
    printf "%d %.1f %.0f %.0f\n", e, per, extra + e * per, extra + cap * per }')
  local epochs per_epoch est est_full
  read -r epochs per_epoch est est_full <<<"$plan"
  local sizing=("$(kv epoch_s_est "$per_epoch")" "$(kv probe_img_s "$(printf '%.0f' "$ips")")")
  if (( epochs < 1 )); then
    record resnet9 INCOMPLETE "${sizing[@]}" "$(kv why "one epoch needs ~$(printf '%.0f' "$per_epoch") s plus ~$((est)) s start-up, $(left) s left")"
    return
  fi
  lim=$(( $(left) - 5 ))
  say "resnet9: $epochs of $cap epochs fit (estimated ${est}s; all $cap: ${est_full}s; ${lim}s left)"
  run_job resnet9 "$lim" "$apps/train_cifar" "${recipe[@]}" --epochs "$epochs" --out "$runs/run"
  m=$runs/run/metrics.json
  local done_epochs acc tta
  done_epochs=$(grep -cE '^epoch +[0-9]+/' "$logs/resnet9.log" || true)
  acc=$(grep -E '^epoch +[0-9]+/' "$logs/resnet9.log" | tail -1 | grep -oE 'test loss [0-9.]+ acc +[0-9.]+%' | grep -oE '[0-9.]+%$' || true)
  tta=$(json_num "$m" test_acc_flip_tta)
  [[ -f $m ]] && cp "$m" "$out/resnet9.json"
  mkdir -p "$logs/resnet9_run"
  for f in "$runs"/run/{metrics.csv,metrics.json,predictions.csv} "$runs"/run/*.png; do
    if [[ -f $f ]]; then cp "$f" "$logs/resnet9_run/"; fi
  done
  local common=("$(kv recipe "$label")" "$(kv epochs "$done_epochs/$epochs")" "$(kv reference_epochs "$cap")"
                "$(kv test_acc "${acc:-n/a}")" "$(kv flip_tta "${tta:+$tta%}")" "$(kv seconds "$job_s")" "$(kv estimated_s "$est")" "${sizing[@]}")
  # A run that finished but did not learn (resnet9 passes 50% within its first epoch) is a failure.
  if (( job_rc == 0 )) && ! ((rehearse)) && awk -v a="${acc%\%}" 'BEGIN { exit !(a + 0 < 25) }'; then
    record resnet9 FAIL "${common[@]}" "$(kv why "test accuracy ${acc:-n/a} is below 25%: the model did not learn")"
  elif (( job_rc == 0 )) && grep -q '"finished": true' "$m" 2>/dev/null; then record resnet9 PASS "${common[@]}" "$(kv json resnet9.json)"
  elif timed_out; then record resnet9 INCOMPLETE "${common[@]}" "$(kv why "time limit (${lim}s): stopped after the current batch")"
  else record resnet9 FAIL "${common[@]}" "$(kv exit "$job_rc")" "$(kv error "$(last_error "$logs/resnet9.log")")"; fi
}

case $mode in
  part1) part1 ;;
  part2) stage_data; stage_bench; stage_resnet9 ;;
  rehearse) part1; stage_data; stage_bench; stage_resnet9 ;;
esac
