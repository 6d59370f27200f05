#!/usr/bin/env bash
# Gathers, on the development machine (Debian 12 after ./build.sh), what tools/gpu_check.sh needs
# on the GPU machine and that machine lacks, into .device/ (git-ignored; it travels with the
# working tree when named in the device tool's `carry`, and stays well under its 64 MiB):
#   .device/deps.tar.xz     a prefix (gpu_check.sh unpacks it) with
#                             include/  Catch2 2.x, Eigen 3, CLI11, nlohmann-json, PLplot headers
#                             lib/, share/  the CMake package files of those four, PLplot's
#                                       libraries and cairo driver with their shared-library
#                                       closure (all but glibc and libstdc++), its pkg-config
#                                       files (relocatable), fonts and a fontconfig setup;
#                                       share/minidl-deps-glibc: the newest glibc they need
#                             bin/      pkg-config (Debian's pkgconf, its library in
#                                       lib/pkgconf/): the apps' CMake finds PLplot with it
#   .device/cifar/          the CIFAR-10 JPEG archive and its builder (../shared/datasets): the
#                           binary copy itself is 176 MB, the archive 20 MB; gpu_check.sh builds
#                           datasets/cifar-10-batches-bin from it in ~10 s (python3 + PIL + numpy)
#   .device/cudnn/include   cuDNN headers, only as a fallback: gpu_check.sh prefers the headers of
#                           the cuDNN the GPU machine has (PyTorch's nvidia-cudnn wheel), and uses
#                           these when that wheel has its library but no headers
#
# usage: tools/gpu_prepare.sh
# then, on the GPU machine (the device tool: carry [".device"]), one command after the other:
#   tools/gpu_check.sh --part 1 $OUT     and     tools/gpu_check.sh --part 2 $OUT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=.device
say() { echo "gpu_prepare: $*" >&2; }
arch=x86_64-linux-gnu
libdir=/usr/lib/$arch
plplot_ver=$(basename /usr/share/plplot5.* 2>/dev/null | sed 's/^plplot//')
for need in /usr/lib/libCatch2WithMain.a /usr/include/catch2/catch.hpp /usr/include/eigen3/Eigen/Core /usr/include/CLI/CLI.hpp \
            /usr/include/nlohmann/json.hpp /usr/include/plplot/plstream.h "$libdir/libplplotcxx.so" /usr/bin/pkgconf; do
  [[ -e $need ]] || { say "missing $need: run ./build.sh first (it installs the dependencies)"; exit 1; }
done

rm -rf "$dest/prefix" "$dest/deps.tar.xz"
mkdir -p "$dest/prefix"/{bin,include,lib/cmake,lib/pkgconfig,lib/pkgconf,share/cmake,share/fonts,etc/fonts}
p=$dest/prefix

# ---- headers and CMake package files (Debian's are relocatable: paths relative to the file) ----
cp -a /usr/include/catch2 /usr/include/eigen3 /usr/include/CLI /usr/include/nlohmann /usr/include/plplot "$p/include/"
cp -a /usr/lib/cmake/Catch2 "$p/lib/cmake/"
cp -a /usr/lib/libCatch2WithMain.a "$p/lib/"  # Debian's Catch2 package file names it (unused here)
mkdir -p "$p/share/eigen3"
cp -a /usr/share/eigen3/cmake "$p/share/eigen3/"
cp -a /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$p/share/cmake/"

# ---- PLplot (train_cifar's pictures): libraries, cairo driver, data, and what they load --------
mkdir -p "$p/lib/plplot/drivers" "$p/share/plplot"
cp -a "$libdir/plplot$plplot_ver/drivers/"cairo.* "$p/lib/plplot/drivers/"
cp -a "/usr/share/plplot$plplot_ver/"*.fnt "/usr/share/plplot$plplot_ver/"*.pal "$p/share/plplot/"
# The closure of shared libraries, except the C and C++ runtimes every Linux machine has.
mapfile -t closure < <(for f in "$libdir/libplplotcxx.so" "$p/lib/plplot/drivers/cairo.so"; do ldd "$f"; done |
  awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so')
for lib in "${closure[@]}"; do cp -L "$lib" "$p/lib/"; done
# The libraries train_cifar links (-lplplotcxx, -lplplot): their files under their sonames, and
# the unversioned names the linker looks for.
for name in plplotcxx plplot; do
  real=$(readlink -f "$libdir/lib$name.so")
  soname=$(objdump -p "$real" | awk '/SONAME/ {print $2}')
  cp "$real" "$p/lib/$soname"
  ln -sf "$soname" "$p/lib/lib$name.so"
done
# pkg-config files that find the prefix from their own location.
for pc in plplot plplot-c++; do
  sed -e 's|^libdir=.*|libdir=${pcfiledir}/..|' -e 's|^includedir=.*|includedir=${pcfiledir}/../../include/plplot|' \
      -e 's|^drvdir=.*|drvdir=${pcfiledir}/../plplot/drivers|' "$libdir/pkgconfig/$pc.pc" > "$p/lib/pkgconfig/$pc.pc"
done
# pkg-config: FindPkgConfig needs the program, which GPU machines may lack. Its library goes in a
# folder of its own, so the wrapper's LD_LIBRARY_PATH brings in nothing else.
cp -L /usr/bin/pkgconf "$p/bin/"
cp -L "$(ldd /usr/bin/pkgconf | awk '/libpkgconf/ {print $3}')" "$p/lib/pkgconf/"
cat > "$p/bin/pkg-config" <<'EOF'
#!/bin/sh
# The carried pkgconf (tools/gpu_prepare.sh), with its library beside it.
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH=$here/../lib/pkgconf${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec "$here/pkgconf" "$@"
EOF
chmod +x "$p/bin/pkg-config"
# The newest glibc symbol version the carried binaries need: gpu_check.sh compares it with the GPU
# machine's (libexpat, under the cairo driver, needs 2.36 on Debian 12).
find "$p/lib" "$p/bin" -type f \( -name '*.so*' -o -name pkgconf \) -exec objdump -T {} + 2>/dev/null |
  grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -V | tail -1 > "$p/share/minidl-deps-glibc"
# Fonts for the cairo driver's text, and a fontconfig file that points at them (gpu_check.sh
# sets FONTCONFIG_FILE; the GPU machine may have neither).
cp -L /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf "$p/share/fonts/"
cat > "$p/etc/fonts/fonts.conf" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir prefix="relative">../../share/fonts</dir>
  <cachedir>/tmp/minidl-fontconfig-cache</cachedir>
</fontconfig>
EOF

# ---- cuDNN headers (fallback only) -----------------------------------------------------------
if ls /usr/local/cuda/include/cudnn*.h >/dev/null 2>&1; then
  mkdir -p "$dest/cudnn/include"
  cp -L /usr/local/cuda/include/cudnn*.h "$dest/cudnn/include/"
fi

tar -C "$p" -cJf "$dest/deps.tar.xz" .
rm -rf "$p"

# ---- CIFAR-10 --------------------------------------------------------------------------------
builder=""
for cand in "${MINIDL_CIFAR_BUILDER:-}" ../shared/datasets/make-cifar10-bin; do
  [[ -n $cand && -x $cand ]] && builder=$cand && break
done
if [[ -n $builder ]]; then
  mkdir -p "$dest/cifar"
  cp -L "$builder" "$(dirname "$builder")/cifar10-jpeg75-images.tar.gz" "$dest/cifar/"
  [[ -f $(dirname "$builder")/README.md ]] && cp -L "$(dirname "$builder")/README.md" "$dest/cifar/"
else
  say "no CIFAR-10 builder found (../shared/datasets/make-cifar10-bin): gpu_check.sh will skip the resnet9 run"
fi

size=$(du -sm "$dest" | cut -f1)
say "wrote $dest ($size MiB): $(cd "$dest" && find . -maxdepth 2 -type f | sort | tr '\n' ' ')"
(( size < 60 )) || { say "$dest is $size MiB: too close to the device tool's 64 MiB limit"; exit 1; }
