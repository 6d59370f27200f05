#!/usr/bin/env bash
# The training-parity comparison (docs/results.md, "minidl against PyTorch, same recipe"): skipnet48k
# trained with the recipe of a PyTorch 1.13 script (SGD lr 0.05 momentum 0.9 Nesterov, weight decay
# 5e-4, OneCycle max 0.1, 25% warm-up, batch 128, Dropout2d 0.05, pad-4 crop + flip, no label
# smoothing, 20 epochs) by train_cifar and by its PyTorch twin apps/train_cifar_torch.py, for the
# three norms, seeds 1-3, with the crop padded black (zero) or with the mean colour (mean).
#
#   tools/parity_runs.sh all              every run, one after another (2 threads each)
#   tools/parity_runs.sh minidl | torch   only train_cifar's runs, or only the PyTorch twin's
#   tools/parity_runs.sh --list           every run and its state
#   tools/parity_runs.sh --table          regenerate the tables in docs/results.md only
#   ... --commit                          git commit each finished run's small files at once
#   ... PATTERN                           only the runs whose name contains PATTERN
# A finished run is skipped; an interrupted minidl run resumes from its checkpoint, a PyTorch one restarts.
# Results: results/parity/<framework>-skipnet48k-<norm>-<pad>-seed<N>/ (metrics.json, train.log,
# command.txt). Settings: TRAIN_CIFAR (build/apps/train_cifar), PYTHON (/usr/bin/python3),
# DATA_DIR (datasets), THREADS (2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TRAIN_CIFAR=${TRAIN_CIFAR:-build/apps/train_cifar}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA_DIR=${DATA_DIR:-datasets}
THREADS=${THREADS:-2}
OUT=results/parity
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

recipe="--model skipnet48k --epochs 20 --max-lr 0.1 --label-smoothing 0 --dropout 0.05"
# Order: seed 1 of every norm on both sides first (black padding, the comparison), then the
# other seeds, then minidl with mean padding (the --pad-fill question; PyTorch's side of it was
# measured once, by hand, see docs/results.md).
runs=()
for seed in 1 2 3; do
  for norm in layer group batch; do
    for fw in minidl torch; do runs+=("$fw-skipnet48k-$norm-zero-seed$seed"); done
  done
done
for seed in 1 2 3; do
  for norm in layer group batch; do runs+=("minidl-skipnet48k-$norm-mean-seed$seed"); done
done

lane="" commit=0 list=0 table_only=0 patterns=()
for a in "$@"; do
  case $a in
    minidl|torch|all) lane=$a ;;
    --commit) commit=1 ;;
    --list) list=1 ;;
    --table) table_only=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "parity_runs.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
    *) patterns+=("$a") ;;
  esac
done

state() {
  local dir=$OUT/$1
  if [[ -f $dir/metrics.json ]] && grep -q '"finished": true' "$dir/metrics.json"; then echo done
  elif [[ -f $dir/metrics.json || -f $dir/checkpoint.safetensors ]]; then echo partial
  else echo "not run"; fi
}
selected() {
  local name=$1
  [[ -n $lane && $lane != all && $name != "$lane"-* ]] && return 1
  ((${#patterns[@]} == 0)) && return 0
  for p in "${patterns[@]}"; do [[ $name == *"$p"* ]] && return 0; done
  return 1
}
table() { "$PYTHON" tools/parity_table.py --results "$OUT" --doc docs/results.md || echo "parity_runs.sh: the table was not regenerated" >&2; }

if ((list)); then
  for r in "${runs[@]}"; do printf '%-36s %s\n' "$r" "$(state "$r")"; done
  exit 0
fi
if ((table_only)); then table; exit 0; fi
[[ -n $lane ]] || { echo "parity_runs.sh: name the runs: all, minidl or torch (see --help)" >&2; exit 2; }

commit_run() {
  local dir=$OUT/$1 files=()
  for f in "$dir"/{command.txt,train.log,metrics.csv,metrics.json}; do [[ -f $f ]] && files+=("$f"); done
  git add -f -- "${files[@]}"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    git commit -q -m "results: parity $1 ($(grep -o '"test_acc": [0-9.]*' "$dir/metrics.json" | tail -1))" \
      -- "${files[@]}" && return 0
    sleep 3  # another commit may hold the index lock
  done
  echo "parity_runs.sh: could not commit $1" >&2
}

for name in "${runs[@]}"; do
  selected "$name" || continue
  [[ $(state "$name") == done ]] && { echo "== $name: done"; continue; }
  dir=$OUT/$name
  IFS=- read -r fw model norm pad seed <<<"$name"
  seed=${seed#seed}
  mkdir -p "$dir"
  if [[ $fw == minidl ]]; then
    if [[ -f $dir/checkpoint.safetensors ]]; then
      cmd=("$TRAIN_CIFAR" --resume "$dir" --threads "$THREADS" --workers 1)
    else
      # shellcheck disable=SC2206
      cmd=("$TRAIN_CIFAR" $recipe --norm "$norm" --pad-fill "$pad" --seed "$seed" --data "$DATA_DIR" --out "$dir"
           --overwrite --threads "$THREADS" --workers 1)
    fi
  else
    # shellcheck disable=SC2206
    cmd=("$PYTHON" apps/train_cifar_torch.py $recipe --norm "$norm" --pad-fill "$pad" --seed "$seed"
         --data "$DATA_DIR" --out "$dir" --threads "$THREADS" --workers 1)
  fi
  echo "== $name: ${cmd[*]}"
  printf '%s\n' "${cmd[*]}" >"$dir/command.txt"
  "${cmd[@]}" 2>&1 | tee -a "$dir/train.log" | grep --line-buffered -E '^epoch|^final|rror' || true
  [[ $(state "$name") == done ]] || { echo "parity_runs.sh: $name did not finish" >&2; exit 1; }
  ((commit)) && commit_run "$name"
done
table
