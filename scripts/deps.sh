#!/bin/sh
# Install the Debian packages smmap needs that are not there yet, by name.
# Usage: scripts/deps.sh build|test
set -eu
pkgs="meson ninja-build gcc pkg-config zlib1g-dev"
if [ "${1:-build}" = test ]; then
    # i386: gcc's own -m32 with the biarch libraries (lib32gcc-12-dev,
    # libc6-dev-i386, lib32z1-dev) rather than the gcc-multilib metapackage,
    # which Debian 12 declares in conflict with every cross compiler.
    # aarch64: the cross compiler and qemu-user to run its programs.
    # Windows: mingw-w64 (win32 threads) with its zlib, and wine to run it.
    # FUSE: libfuse3 to build tests/fuse/passthrough.c, fusermount3.
    # PyPy: the interpreter and its headers (cpyext) for scripts/pypy.sh.
    pkgs="$pkgs clang libclang-rt-14-dev valgrind python3 python3-dev
          python3-pip python3-pytest python3-mesonpy python3-smmap python3-gitdb git doxygen man-db cmake
          binutils lib32gcc-12-dev libc6-dev-i386 lib32z1-dev
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
          gcc-mingw-w64-x86-64 libz-mingw-w64-dev wine wine64
          fuse3 libfuse3-dev musl-tools pypy3 pypy3-dev"
fi
export DEBIAN_FRONTEND=noninteractive

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # A list that fails to download (a mirror caught mid-sync) leaves apt
    # with the lists it had; what is missing then fails the install itself.
    apt-get update -qq || echo "apt-get update: some lists failed; going on"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
