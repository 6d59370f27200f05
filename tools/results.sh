#!/usr/bin/env bash
# Runs the results table (docs/results.md), or any part of it, one run after another, into
# results/<model>-<norm>-seed<N>/, then regenerates the table from the run folders.
#
#   tools/results.sh                      every CPU run of the table (21 runs, many hours on 2 cores)
#   tools/results.sh skipnet48k           the runs whose name contains "skipnet48k" (any norm/seed)
#   tools/results.sh minidl50k-group      ...; several patterns select their union
#   tools/results.sh --list               the runs, with their state (done / partial / not run)
#   tools/results.sh --table              only regenerate docs/results.md (and the README's rows)
#   tools/results.sh --commit ...         also `git commit` each finished run's small files at once
#
# A run whose metrics.json says "finished" is skipped; one with a checkpoint is resumed (a killed
# or interrupted run loses at most the epoch in progress). resnet9 needs a GPU: it is listed but
# only selected when a pattern names it.
# Settings (environment): TRAIN_CIFAR (build/apps/train_cifar), DATA_DIR (datasets),
# RESULTS_DIR (results). OMP_WAIT_POLICY=passive is set for the runs (see README).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TRAIN_CIFAR=${TRAIN_CIFAR:-build/apps/train_cifar}
DATA_DIR=${DATA_DIR:-datasets}
RESULTS_DIR=${RESULTS_DIR:-results}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# The table: "name|train_cifar arguments". The arguments are the whole recipe beyond the defaults.
runs=()
for model in skipnet48k convnet39k gapnet39k c10net48k; do
  for norm in batch group layer; do runs+=("$model-$norm-seed1|--model $model --norm $norm --seed 1"); done
done
for seed in 1 2 3; do
  for norm in batch group layer; do runs+=("minidl50k-$norm-seed$seed|--model minidl50k --norm $norm --seed $seed"); done
done
resnet9_args="--model resnet9 --norm batch --seed 1 --optimizer adam --scheduler onecycle --lr-find --epochs 24"
resnet9_args+=" --pct-start 0.2083 --batch-size 512 --augment flip-crop-cutout"
runs+=("resnet9-batch-seed1|$resnet9_args")

commit=0 list=0 table_only=0 patterns=()
for a in "$@"; do
  case $a in
    --commit) commit=1 ;;
    --list) list=1 ;;
    --table) table_only=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "results.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
    *) patterns+=("$a") ;;
  esac
done

state() {  # done | partial | not run
  local dir=$RESULTS_DIR/$1
  if [[ -f $dir/metrics.json ]] && grep -q '"finished": true' "$dir/metrics.json"; then echo done
  elif [[ -f $dir/checkpoint.safetensors ]]; then echo partial
  else echo "not run"; fi
}

selected() {
  local name=$1
  if ((${#patterns[@]} == 0)); then [[ $name != resnet9* ]]; return; fi
  for p in "${patterns[@]}"; do [[ $name == *"$p"* ]] && return 0; done
  return 1
}

table() { /usr/bin/env python3 tools/results_table.py --results "$RESULTS_DIR" --doc docs/results.md --readme README.md; }

if ((list)); then
  for r in "${runs[@]}"; do printf '%-24s %-8s train_cifar %s\n' "${r%%|*}" "$(state "${r%%|*}")" "${r#*|}"; done
  exit 0
fi
if ((table_only)); then table; exit 0; fi
[[ -x $TRAIN_CIFAR ]] || { echo "results.sh: $TRAIN_CIFAR not found: build first (./build.sh)" >&2; exit 1; }

commit_run() {  # the small files of one finished run; only these paths, whatever else is staged
  local dir=$RESULTS_DIR/$1 files=()
  for f in "$dir"/{command.txt,train.log,metrics.csv,metrics.json,*.png}; do [[ -f $f ]] && files+=("$f"); done
  git add -f -- "${files[@]}"
  for _ in 1 2 3 4 5 6 7 8 9 10; do  # another commit may hold the index lock for a moment
    git commit -q -m "results: $1 ($(grep -o '"test_acc": [0-9.]*' "$dir/metrics.json" | tail -1))" -- "${files[@]}" \
      && return 0
    sleep 3
  done
  echo "results.sh: could not commit $1" >&2
}

n=0
for r in "${runs[@]}"; do
  name=${r%%|*}
  read -r -a args <<< "${r#*|}"
  selected "$name" || continue
  n=$((n + 1))
  dir=$RESULTS_DIR/$name
  case $(state "$name") in
    done) echo "== $name: done, skipped"; continue ;;
    partial) echo "== $name: resuming"; cmd=("$TRAIN_CIFAR" --resume "$dir/checkpoint.safetensors" --data "$DATA_DIR" --out "$dir") ;;
    *) echo "== $name: training"; cmd=("$TRAIN_CIFAR" "${args[@]}" --data "$DATA_DIR" --out "$dir")
       mkdir -p "$dir"
       echo "train_cifar ${args[*]} --data $DATA_DIR --out $dir" > "$dir/command.txt" ;;
  esac
  "${cmd[@]}" 2>&1 | tee -a "$dir/train.log"
  ((commit)) && [[ $(state "$name") == done ]] && commit_run "$name"
  table
done
((n)) || { echo "results.sh: no run matches ${patterns[*]} (see --list)" >&2; exit 2; }
table
