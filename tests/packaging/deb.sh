#!/bin/bash
# deb.sh - build the Debian packages (debian/) in a temporary copy of the
# tree, lint them, install them, check what a user of the packages gets
# (README.md's C example through pkg-config, `smmap sum`, the CMake package,
# the Python drop-in under gitdb), purge them and check they are gone.
# Prints "ok:"/"FAIL:" per check and, last, "deb: N passed, N failed"; exits
# non-zero on any failure. Run as root on Debian 12. DEB_BUILD_PROFILES=
# nopython builds and checks the C packages alone.
#
# The copy is `git archive HEAD` (no untracked files, no build trees) plus
# the working tree's debian/, which replaces any committed one: the
# packaging is checked as it is now.
# shellcheck disable=SC2317 # (functions called through check and the traps)
set -u

# Debian's own tools only: a pyenv python3.11 or anything in /usr/local
# earlier on PATH would be used by the build and by the checks.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PKG_CONFIG_PATH PKG_CONFIG_LIBDIR \
      CFLAGS CPPFLAGS LDFLAGS MAKEFLAGS DEB_BUILD_OPTIONS

top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "deb.sh: run as root (apt-get, dpkg)" >&2; exit 2; }
start=$(date +%s)

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
    echo "deb: done in $(( $(date +%s) - start )) s"
    echo "deb: $passed passed, $failed failed"
    [ "$failed" = 0 ] && exit 0
    exit 1
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# Purged: dpkg has forgotten the package or knows it as not-installed (no
# config-files left either).
gone() { local s; s=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null); [ -z "$s" ] || [ "$s" = not-installed ]; }

with_python=yes
case " ${DEB_BUILD_PROFILES:-} " in *" nopython "*) with_python= ;; esac

# ------------------------------------------------------------------- deps
# The tools this script uses, then the build dependencies debian/control
# names (apt-get build-dep reads them from the tree, by package name).
tools="dpkg-dev debhelper lintian git gcc libc6-dev pkg-config python3"
[ -n "$with_python" ] && tools="$tools python3-gitdb"
missing=
for p in $tools; do installed "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # A list that fails to download leaves apt with the lists it had.
    apt-get update -qq || echo "apt-get update: some lists failed; going on"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null || { bad "deps: apt-get install$missing"; finish; }
fi
if ! (cd "$top" && dpkg-checkbuilddeps >/dev/null 2>&1); then
    echo "installing the build dependencies of debian/control"
    apt-get update -qq || echo "apt-get update: some lists failed; going on"
    apt-get build-dep -y -qq --no-install-recommends "$top" >/dev/null ||
        { bad "deps: apt-get build-dep"; finish; }
fi

tmp=$(mktemp -d /tmp/smmap-deb.XXXXXX)
had_smmap=; installed python3-smmap && had_smmap=yes
had_gitdb=; installed python3-gitdb && had_gitdb=yes
# An interrupted run must not leave the packages on the machine (nor
# Debian's python3-smmap removed).
purge() { # [apt-get options...]
    local restore=
    [ -n "$had_smmap" ] && restore="python3-smmap+"
    # shellcheck disable=SC2086
    apt-get purge -y "$@" $pkgs $restore >"$tmp/purge.log" 2>&1
}
cleanup() {
    if [ -n "${installed_ours:-}" ]; then purge -qq; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------- copy
src=$tmp/src
mkdir "$src"
git -C "$top" archive HEAD | tar -x -C "$src" || { bad "git archive HEAD"; finish; }
rm -rf "$src/debian"
cp -a "$top/debian" "$src/debian"
echo "== building in $src (git HEAD + the working tree's debian/)"

# The package's version and the library package's name follow VERSION and
# the SONAME meson derives from it (MAJOR.MINOR before 1.0, MAJOR after).
version=$(cat "$src/VERSION")
deb_upstream=$(cd "$src" && dpkg-parsechangelog -S Version | sed 's/-[^-]*$//')
check "debian/changelog's version ($deb_upstream) is VERSION ($version)" [ "$deb_upstream" = "$version" ]
major=${version%%.*}; minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then soversion=0.$minor; else soversion=$major; fi
check "debian/control names the library package libsmmap$soversion (SONAME libsmmap.so.$soversion)" \
    grep -qx "Package: libsmmap$soversion" "$src/debian/control"
pkgs="libsmmap$soversion libsmmap-dev smmap"
[ -n "$with_python" ] && pkgs="$pkgs python3-smmap-c"

# ------------------------------------------------------------------ build
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b"
else
    tail -n 40 "$tmp/build.log"
    bad "dpkg-buildpackage -us -uc -b"
    finish
fi
changes=$(ls "$tmp"/smmap_*.changes)
debs=
for p in $pkgs; do
    deb=$(ls "$tmp/${p}_"*.deb 2>/dev/null)
    if [ -n "$deb" ]; then debs="$debs $deb"; ok "built $(basename "$deb")"; else bad "no $p .deb"; fi
done
for deb in $debs; do dpkg-deb -c "$deb" | awk '$6 !~ /\/$/ { sub(/^\./, "", $6); print "   ", $6, $7, $8 }'; done

# ----------------------------------------------------------------- lintian
# Errors fail; warnings and informational tags are printed.
echo "== lintian"
lintian -I "$changes" >"$tmp/lintian.log" 2>&1
lintian_rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log"
if [ "$lintian_rc" = 0 ] && ! grep -q '^E: ' "$tmp/lintian.log"; then
    ok "lintian: no errors ($(grep -c '^W: ' "$tmp/lintian.log") warnings)"
else
    bad "lintian: errors (exit $lintian_rc)"
fi

# ----------------------------------------------------------------- install
echo "== installing"
installed_ours=yes
# shellcheck disable=SC2086
if apt-get install -y $debs >"$tmp/install.log" 2>&1; then
    ok "apt-get install ./*.deb"
else
    tail -n 20 "$tmp/install.log"
    bad "apt-get install ./*.deb"
fi
for p in $pkgs; do check "$p is installed" installed "$p"; done

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
check "pkg-config finds the packaged smmap.pc (prefix /usr, version $version)" \
    [ "$(pkg-config --variable=prefix smmap 2>/dev/null) $(pkg-config --modversion smmap 2>/dev/null)" = "/usr $version" ]

# README.md's C example (the first ```c block under "## Using the library"),
# built as the README says and run on a file of random bytes, larger than
# its 1 MiB window; it prints the sum of the bytes.
work=$tmp/work
mkdir "$work"
awk '/^## Using the library/ { on = 1; next }
     on && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$src/README.md" >"$work/example.c"
head -c $((5 * 1024 * 1024 + 12345)) /dev/urandom >"$work/random.bin"
expected_sum=$(python3 -c 'import sys; print(sum(open(sys.argv[1], "rb").read()))' "$work/random.bin")
# shellcheck disable=SC2046
if [ -s "$work/example.c" ] &&
   (cd "$work" && cc -o example example.c $(pkg-config --cflags --libs smmap)) >"$tmp/cc.log" 2>&1; then
    ok "README's example builds with \`cc example.c \$(pkg-config --cflags --libs smmap)\`"
    check "the example runs on the packaged $libdir/libsmmap.so.$soversion" \
        sh -c "ldd '$work/example' | grep -Eq 'libsmmap\\.so\\.$soversion => (/usr)?/lib/$multiarch/libsmmap\\.so\\.$soversion '"
    got_sum=$("$work/example" "$work/random.bin")
    check "the example's sum ($got_sum) is the bytes' sum ($expected_sum)" [ "$got_sum" = "$expected_sum" ]
else
    cat "$tmp/cc.log"
    bad "README's example builds with \`cc example.c \$(pkg-config --cflags --libs smmap)\`"
fi

# The program: `smmap sum FILE` prints "CRC32  SIZE  PATH" (zlib's CRC-32).
expected_line=$(python3 -c 'import sys, zlib, os; d = open(sys.argv[1], "rb").read(); print("%08x  %d  %s" % (zlib.crc32(d), len(d), sys.argv[1]))' "$work/random.bin")
got_line=$(/usr/bin/smmap sum "$work/random.bin" 2>&1)
check "smmap sum: '$got_line'" [ "$got_line" = "$expected_line" ]
got_line=$(/usr/bin/smmap sum --window 64K --max-memory 256K "$work/random.bin" 2>&1)
check "smmap sum --window 64K --max-memory 256K gives the same line" [ "$got_line" = "$expected_line" ]
check "smmap --version says $version" [ "$(/usr/bin/smmap --version 2>&1)" = "smmap $version" ]
check "the man page is installed" [ -f /usr/share/man/man1/smmap.1.gz ]

# The CMake package, when cmake is there (it is not a dependency of this
# script): find_package(smmap) from the multiarch libdir, shared library.
if command -v cmake >/dev/null; then
    mkdir "$work/cmake"
    cat >"$work/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(example C)
find_package(smmap MAJOR_MINOR REQUIRED)
add_executable(example ../example.c)
target_link_libraries(example PRIVATE smmap::smmap)
EOF
    sed -i "s/MAJOR_MINOR/$major.$minor/" "$work/cmake/CMakeLists.txt"
    if (cd "$work/cmake" && cmake -S . -B b && cmake --build b) >"$tmp/cmake.log" 2>&1 &&
       [ "$("$work/cmake/b/example" "$work/random.bin")" = "$expected_sum" ]; then
        ok "a CMake project builds the example with find_package(smmap $major.$minor) and smmap::smmap"
    else
        tail -n 20 "$tmp/cmake.log"
        bad "a CMake project builds the example with find_package(smmap $major.$minor) and smmap::smmap"
    fi
else
    echo "skip: CMake package (no cmake)"
fi

# The Python drop-in replaces Debian's python3-smmap and keeps python3-gitdb
# installed (Provides); gitdb then reads a real pack through it.
if [ -n "$with_python" ]; then
    api=$(sed -n 's/^API_VERSION = "\(.*\)"$/\1/p' "$src/python/smmap/__init__.py")
    got=$(cd / && python3 -c 'import smmap; print(smmap.__file__, smmap.__version__)' 2>&1)
    check "import smmap: $got" [ "$got" = "/usr/lib/python3/dist-packages/smmap/__init__.py $api+libsmmap.$version" ]
    check "python3-smmap was replaced" sh -c "! dpkg-query -W -f='\${Status}' python3-smmap 2>/dev/null | grep -q 'install ok installed'"
    if [ -n "$had_gitdb" ]; then
        check "python3-gitdb stays installed (python3-smmap-c provides python3-smmap)" installed python3-gitdb
        repo=$work/repo
        git init -q "$repo" && cp "$src"/src/*.c "$src/README.md" "$repo/" &&
            git -C "$repo" add . && git -C "$repo" -c user.name=deb -c user.email=deb@localhost commit -qm one &&
            git -C "$repo" gc -q
        git -C "$repo" cat-file --batch-all-objects --batch-check='%(objectname) %(objecttype) %(objectsize)' |
            sort >"$work/git.objects"
        (cd / && python3 - "$repo/.git/objects/pack" >"$work/gitdb.objects" 2>"$tmp/gitdb.log") <<'EOF'
import hashlib, sys
import smmap
from gitdb.db import PackedDB
from gitdb.util import bin_to_hex
assert smmap.__file__.startswith("/usr/lib/python3/dist-packages/"), smmap.__file__
db = PackedDB(sys.argv[1])
lines = []
for sha in db.sha_iter():
    s = db.stream(sha)
    data = s.read()
    assert len(data) == s.size
    # The object's id is the hash of its header and content: every byte read.
    h = hashlib.sha1(b"%s %d\0" % (s.type, s.size) + data).digest()
    assert h == sha, bin_to_hex(sha)
    lines.append("%s %s %d" % (bin_to_hex(sha).decode(), s.type.decode(), s.size))
print("\n".join(sorted(lines)))
EOF
        n=$(wc -l <"$work/git.objects")
        if [ "$n" -gt 0 ] && cmp -s "$work/git.objects" "$work/gitdb.objects"; then
            ok "gitdb reads all $n objects of a git pack through the drop-in"
        else
            cat "$tmp/gitdb.log"
            bad "gitdb reads all objects of a git pack through the drop-in"
        fi
    fi
fi

# ------------------------------------------------------------------- purge
echo "== purging"
if purge; then ok "apt-get purge -y $pkgs${had_smmap:+ (python3-smmap back)}"; else tail -n 20 "$tmp/purge.log"; bad "apt-get purge -y $pkgs"; fi
installed_ours=
for p in $pkgs; do
    check "$p is purged" gone "$p"
done
leftover=
for f in "$libdir/libsmmap.so.$soversion" "$libdir/libsmmap.so" "$libdir/libsmmap.a" \
         "$libdir/pkgconfig/smmap.pc" "$libdir/cmake/smmap" /usr/include/smmap.h \
         /usr/bin/smmap /usr/share/man/man1/smmap.1.gz /usr/share/doc/libsmmap$soversion \
         /usr/lib/python3/dist-packages/smmap-"${api:-}"+libsmmap."$version".dist-info; do
    [ -e "$f" ] && leftover="$leftover $f"
done
check "no file of the packages is left${leftover:+:$leftover}" [ -z "$leftover" ]
[ -n "$had_smmap" ] && check "Debian's python3-smmap is installed again" installed python3-smmap
[ -n "$had_gitdb" ] && check "python3-gitdb is still installed" installed python3-gitdb

finish
