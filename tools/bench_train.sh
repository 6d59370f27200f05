#!/usr/bin/env bash
# The whole-epoch benchmark of docs/performance.md: apps/bench_train (minidl) against its PyTorch
# twin apps/bench_train_torch.py, for each model and norm, minidl and PyTorch runs alternating
# (A B A B ...: slow drifts of a shared machine hit both alike), then the table of medians and
# ratios (apps/bench_train_table.py), printed and written to OUT/table.md.
#
#   tools/bench_train.sh                          6 pairs x 3 rounds x 2 programs = 36 epochs (roughly 30-40 min on 2 cores)
#   tools/bench_train.sh --rounds 5 --threads 2 --out runs/bench-train-quiet
#   tools/bench_train.sh --steps 3 --test-images 500 --rounds 1 --models skipnet48k --norms group   (a quick check)
#
# Options: --rounds N (3), --steps N (0: one epoch, 391 steps), --test-images N (-1: all 10,000),
# --threads N (2), --workers N (2), --models "skipnet48k minidl50k", --norms "batch group layer"
# (space- or comma-separated), --out DIR (runs/bench-train-<date>-<time>; must hold no results yet),
# --data DIR (datasets).
# Settings (environment): BENCH_TRAIN (build/apps/bench_train, a Release build), PYTHON
# (/usr/bin/python3, Debian's python3-torch), OMP_WAIT_POLICY (passive: with spinning waits a
# parallel region stalls whenever a thread has lost its core, see apps/bench_ops.cpp).
# Run it on a quiet machine: the other load of the machine is in every number.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_TRAIN=${BENCH_TRAIN:-build/apps/bench_train}
PYTHON=${PYTHON:-/usr/bin/python3}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
rounds=3 steps=0 test_images=-1 threads=2 workers=2
models="skipnet48k minidl50k" norms="batch group layer"
out="" data=datasets

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "bench_train.sh: $*" >&2; exit 2; }
quote() { [[ $1 =~ ^[A-Za-z0-9_./,:=+-]+$ ]] && printf '%s' "$1" || printf "'%s'" "${1//\'/\'\\\'\'}"; }
command_line="tools/bench_train.sh"
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --rounds|--steps|--test-images|--threads|--workers|--models|--norms|--out|--data)
      (($# >= 2)) || die "$1 needs a value"
      command_line+=" $1 $(quote "$2")"
      case $1 in
        --rounds) rounds=$2 ;; --steps) steps=$2 ;; --test-images) test_images=$2 ;;
        --threads) threads=$2 ;; --workers) workers=$2 ;; --models) models=${2//,/ } ;;
        --norms) norms=${2//,/ } ;; --out) out=$2 ;; --data) data=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in rounds steps threads workers; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v} must be a whole number, got '${!v}'"
done
[[ $test_images =~ ^-?[0-9]+$ ]] || die "--test-images must be a whole number, got '$test_images'"
((rounds >= 1)) || die "--rounds must be at least 1"
((threads >= 1)) || die "--threads must be at least 1 (both programs get the same count)"
[[ -n ${models// } && -n ${norms// } ]] || die "--models and --norms must name at least one"
[[ -x $BENCH_TRAIN ]] || die "$BENCH_TRAIN is missing: build it (cmake --build build --target bench_train), or set BENCH_TRAIN"
"$PYTHON" -c "import torch" 2>/dev/null || die "$PYTHON cannot import torch: install Debian's python3-torch (apt-get install python3-torch), or set PYTHON"
[[ -d $data ]] || die "--data '$data': no such folder (prepare CIFAR-10 with data/prepare_cifar10.sh)"

out=${out:-runs/bench-train-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
if compgen -G "$out/minidl-*.json" >/dev/null || compgen -G "$out/pytorch-*.json" >/dev/null; then
  die "--out '$out' already holds results (their medians would mix with this run's): choose another folder"
fi

# What the table says about the run: the command, the machine and the versions.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- 2>/dev/null || commit+="+changes"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
build_dir=$(dirname "$(dirname "$BENCH_TRAIN")")
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
torch_version=$("$PYTHON" -c "import torch; print(torch.__version__)")
machine="${cpu:-unknown CPU}, $(nproc) cores, ${mem:-? GiB} memory, $(uname -sr)"
"$PYTHON" - "$out/meta.json" "$command_line" "$machine" "$commit" "$build_type" "$torch_version" "$OMP_WAIT_POLICY" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" <<'EOF'
import json, sys
keys = ["command", "machine", "commit", "build_type", "torch", "omp_wait_policy", "date"]
json.dump(dict(zip(keys, sys.argv[2:])), open(sys.argv[1], "w"), indent=1)
EOF

common=(--steps "$steps" --test-images "$test_images" --threads "$threads" --workers "$workers" --data "$data")
run_one() {  # name, then the program and its arguments; the log beside the JSON, a line per run
  local name=$1
  shift
  if ! "$@" --json "$out/$name.json" >"$out/$name.log" 2>&1; then
    echo "bench_train.sh: $name failed; its output ($out/$name.log):" >&2
    tail -n 20 "$out/$name.log" >&2
    exit 1
  fi
  printf '%-34s %s\n' "$name" "$(grep -m1 '^total' "$out/$name.log")"
}
echo "bench_train.sh: $rounds rounds of $models x $norms, $threads threads, $workers workers -> $out"
for ((r = 1; r <= rounds; ++r)); do
  for model in $models; do
    for norm in $norms; do
      run_one "minidl-$model-$norm-r$r" "$BENCH_TRAIN" --model "$model" --norm "$norm" "${common[@]}" --commit "$commit"
      run_one "pytorch-$model-$norm-r$r" "$PYTHON" apps/bench_train_torch.py --model "$model" --norm "$norm" "${common[@]}"
    done
  done
done
echo
"$PYTHON" apps/bench_train_table.py "$out" | tee "$out/table.md"
