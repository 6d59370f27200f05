#!/usr/bin/env bash
# Makes sure DIR/cifar-10-batches-bin/ holds CIFAR-10 in the official binary format
# (data_batch_1..5.bin, test_batch.bin), which is what load_cifar10() and train_cifar read.
#
# usage: data/prepare_cifar10.sh DIR          (e.g. data/prepare_cifar10.sh datasets)
#
# Idempotent: if DIR/cifar-10-batches-bin/test_batch.bin exists it does nothing. Otherwise, in order:
#   1. the workplace's offline builder, if there is one: $MINIDL_CIFAR_BUILDER, or
#      ../shared/datasets/make-cifar10-bin next to the repository (or next to the main checkout
#      when this is a git worktree); it builds the folder from a JPEG copy of CIFAR-10 (see
#      its README: close to, not identical to, the official pixels);
#   2. the official binary version, downloaded with curl or wget ($MINIDL_CIFAR_URL overrides the
#      address, e.g. for a mirror), checked against its published md5 and extracted into DIR.
# Fails with a message saying what was tried when neither works.
set -euo pipefail

url=${MINIDL_CIFAR_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
md5=c32a1d4ab5d03f1284b67883e8d87530
say() { echo "prepare_cifar10: $*" >&2; }

if [[ $# -ne 1 || -z $1 ]]; then
  echo "usage: $0 DIR   (writes DIR/cifar-10-batches-bin/)" >&2
  exit 2
fi
dest=$1
out=$dest/cifar-10-batches-bin
if [[ -f $out/test_batch.bin ]]; then
  say "$out already present"
  exit 0
fi
mkdir -p "$dest"

# ---- 1. the offline builder -------------------------------------------------------------------
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
candidates=()
[[ -n ${MINIDL_CIFAR_BUILDER:-} ]] && candidates+=("$MINIDL_CIFAR_BUILDER")
candidates+=("$root/../shared/datasets/make-cifar10-bin")
# In a git worktree the repository root is elsewhere: also look beside the main checkout.
if common=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
  candidates+=("$(dirname "$common")/../shared/datasets/make-cifar10-bin")
fi
tried=()
for builder in "${candidates[@]}"; do
  tried+=("$builder")
  [[ -x $builder ]] || continue
  say "building $out with $builder"
  if "$builder" "$dest" && [[ -f $out/test_batch.bin ]]; then
    say "done: $out"
    exit 0
  fi
  say "$builder failed; trying the download"
  break
done

# ---- 2. the official download -----------------------------------------------------------------
archive=$dest/cifar-10-binary.tar.gz
partial=$archive.partial
rm -f "$partial"
fetched=""
if command -v curl >/dev/null 2>&1; then
  say "downloading $url with curl"
  curl -fL -# --retry 2 --connect-timeout 20 -o "$partial" "$url" && fetched=curl
fi
if [[ -z $fetched ]] && command -v wget >/dev/null 2>&1; then
  say "downloading $url with wget"
  wget -q --tries=2 --timeout=20 -O "$partial" "$url" && fetched=wget
fi
if [[ -z $fetched ]]; then
  rm -f "$partial"
  say "could not obtain CIFAR-10."
  say "  no offline builder found (looked for: ${tried[*]})"
  say "  download of $url failed (or neither curl nor wget is installed)"
  say "  get cifar-10-binary.tar.gz (the binary version, md5 $md5) yourself and run"
  say "  tar -xzf cifar-10-binary.tar.gz -C $dest"
  exit 1
fi
got=$(md5sum "$partial" | cut -d' ' -f1)
if [[ $got != "$md5" ]]; then
  rm -f "$partial"
  say "$url: md5 $got, expected $md5 (a truncated or different file); nothing extracted"
  exit 1
fi
mv "$partial" "$archive"
tar -xzf "$archive" -C "$dest"
if [[ ! -f $out/test_batch.bin ]]; then
  say "extracted $archive but $out/test_batch.bin is missing"
  exit 1
fi
rm -f "$archive"
say "done: $out"
