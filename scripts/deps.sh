#!/bin/sh
# Install the Debian packages smmap needs that are not there yet.
# Usage: scripts/deps.sh build|test
set -eu
pkgs="meson ninja-build gcc pkg-config zlib1g-dev"
if [ "${1:-build}" = test ]; then
    # gcc-multilib and lib32z1-dev: the i386 build (cross/i386.txt).
    pkgs="$pkgs clang libclang-rt-14-dev libcriterion-dev valgrind python3 python3-dev
          python3-pip python3-pytest python3-mesonpy python3-smmap python3-gitdb git doxygen man-db
          gcc-multilib lib32z1-dev"
fi
export DEBIAN_FRONTEND=noninteractive
updated=
update() {
    [ -n "$updated" ] && return 0
    updated=1
    # A list that fails to download (a mirror caught mid-sync) leaves apt
    # with the lists it had; what is missing then fails the install itself.
    apt-get update -qq || echo "apt-get update: some lists failed; going on"
}

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    update
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Criterion for i386, unpacked rather than installed. Multiarch wants every
# Multi-Arch: same package at the same version on both architectures, and
# libcriterion3:i386 pulls some twenty (libssl3, krb5, libgit2, ...) whose
# i386 versions differ from the amd64 ones installed here, so apt refuses
# (libssl3 3.0.19 amd64 against 3.0.20 i386, with an i386 security list the
# mirror serves stale). The runtime closure is unpacked into
# /usr/local/lib/i386-linux-gnu, where a multiarch system keeps local i386
# libraries (made known to the loader as libc6:i386 would), with a
# criterion.pc there; libc, libgcc_s and zlib come from the biarch packages
# above (libc6-i386, lib32gcc-s1, lib32z1).
i386_criterion() {
    dir=/usr/local/lib/i386-linux-gnu
    [ -e "$dir/libcriterion.so.3" ] && [ -e "$dir/pkgconfig/criterion.pc" ] && return 0
    echo "installing: Criterion for i386 in $dir"
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        dpkg --add-architecture i386
        updated=
    fi
    update
    tmp=$(mktemp -d)
    # The closure as apt would install it on an empty system, less what
    # the biarch packages provide.
    debs=$(apt-get -s -o Dir::State::status=/dev/null install --no-install-recommends \
               libcriterion3:i386 | sed -n 's/^Inst \([^ ]*:i386\) .*/\1/p' |
           grep -v -e '^libc6:' -e '^libgcc-s1:' -e '^gcc-[0-9]*-base:')
    chmod 755 "$tmp" && chown _apt "$tmp" 2>/dev/null || true
    # shellcheck disable=SC2086
    (cd "$tmp" && apt-get download -qq $debs libcriterion-dev:i386)
    for d in "$tmp"/*.deb; do dpkg -x "$d" "$tmp/root"; done
    mkdir -p "$dir/pkgconfig"
    for d in "$tmp/root/lib/i386-linux-gnu" "$tmp/root/usr/lib/i386-linux-gnu"; do
        [ -d "$d" ] && cp -a "$d"/. "$dir"/
    done
    rm -f "$dir"/pkgconfig/*.pc "$dir"/*.a
    # The headers are the amd64 package's (the same files).
    cat >"$dir/pkgconfig/criterion.pc" <<EOF
libdir=$dir
Name: criterion
Description: Criterion (i386, unpacked by smmap's scripts/deps.sh)
Version: 2.4.1
Libs: -L\${libdir} -lcriterion
Cflags:
EOF
    echo "$dir" >/etc/ld.so.conf.d/i386-linux-gnu-local.conf
    ldconfig
    rm -rf "$tmp"
}
[ "${1:-build}" = test ] && i386_criterion
exit 0
