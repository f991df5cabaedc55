#!/bin/sh
# Install the Debian packages smmap needs that are not there yet.
# Usage: scripts/deps.sh build|test
set -eu
pkgs="meson ninja-build gcc pkg-config zlib1g-dev"
if [ "${1:-build}" = test ]; then
    pkgs="$pkgs clang libclang-rt-14-dev libcriterion-dev valgrind python3 python3-dev
          python3-pip python3-pytest python3-mesonpy python3-smmap python3-gitdb git doxygen man-db"
fi
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
