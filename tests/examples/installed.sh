#!/bin/sh
# installed.sh [BUILD_DIR] - install a build into a temporary tree and check
# what a user of the installed library gets: the files, the shared library's
# name and exports, and that README.md's example builds with nothing but
# `pkg-config --cflags --libs smmap` and runs. BUILD_DIR defaults to build.
# Prints "ok: ..." per check; exits 1 at the first failure.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

fail() { echo "installed.sh: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# --no-rebuild: the test checks the build it is given, and leaves it alone.
meson install -C "$build" --destdir "$dest" --no-rebuild >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install failed"; }

# Find the layout through the .pc file, which records prefix and libdir.
pc=$(find "$dest" -name smmap.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no smmap.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
libdir=$dest$(sed -n 's/^libdir=//p' "$pc" | sed "s|\${prefix}|$prefix|")
ok "smmap.pc (prefix $prefix)"

# The sysroot makes pkg-config point -I and -L into the temporary tree; the
# libdir setting keeps any smmap installed on this machine out of sight.
PKG_CONFIG_LIBDIR=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs smmap) || fail "pkg-config cannot read smmap.pc"
case $flags in *"-I$dest"*"-L$dest"*) ;; *) fail "pkg-config flags miss the tree: $flags" ;; esac

header=$dest$prefix/include/smmap.h
[ -f "$header" ] || fail "no $prefix/include/smmap.h"
# smmap.h takes the version from smmap_version.h, which meson writes
vheader=$dest$prefix/include/smmap_version.h
grep -q '#include "smmap_version.h"' "$header" && [ -f "$vheader" ] ||
    fail "no $prefix/include/smmap_version.h beside smmap.h"
ok "smmap.h, smmap_version.h"
version() { sed -n "s/^#define SMMAP_VERSION_$1 \([0-9]*\).*/\1/p" "$vheader"; }
major=$(version MAJOR) minor=$(version MINOR) patch=$(version PATCH)
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] || fail "no version in smmap_version.h"

# The shared library: full version in the file name; in the SONAME the
# major, and before 1.0 the minor too (each 0.x may break the ABI).
lib=$libdir/libsmmap.so.$major.$minor.$patch
[ -f "$lib" ] || fail "no libsmmap.so.$major.$minor.$patch in $libdir"
so=$major
[ "$major" = 0 ] && so=$major.$minor
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsmmap.so.$so" ] || fail "SONAME is '$soname', not libsmmap.so.$so"
[ "$(readlink "$libdir/libsmmap.so.$so")" = "libsmmap.so.$major.$minor.$patch" ] ||
    fail "libsmmap.so.$so does not link to the library"
[ -e "$libdir/libsmmap.so" ] || fail "no libsmmap.so development link"
ok "libsmmap.so.$major.$minor.$patch, SONAME $soname"

# Exactly the header's functions are exported: nothing internal leaks, and
# nothing declared is missing.
nm -D --defined-only "$lib" | awk '{ print $NF }' | sort >"$tmp/exported"
grep '^SMMAP_API' "$header" | grep -o 'smmap_[a-z0-9_]*(' | tr -d '(' |
    sort >"$tmp/declared"
if ! cmp -s "$tmp/exported" "$tmp/declared"; then
    diff "$tmp/declared" "$tmp/exported" | sed 's/^</declared only:/; s/^>/exported only:/' >&2
    fail "exported symbols differ from the header's functions"
fi
ok "$(wc -l <"$tmp/exported") symbols exported, all smmap_* and declared"

[ -f "$libdir/libsmmap.a" ] || fail "no libsmmap.a"
ok "libsmmap.a"
[ -x "$dest$prefix/bin/smmap" ] || fail "no bin/smmap"
ok "bin/smmap"
[ -f "$dest$prefix/share/man/man1/smmap.1" ] || fail "no share/man/man1/smmap.1"
grep -q "smmap $major.$minor.$patch" "$dest$prefix/share/man/man1/smmap.1" ||
    fail "the man page's .TH names another version than smmap.h"
ok "share/man/man1/smmap.1"

# README.md's example, built as the README says, against the tree alone.
awk '/^## Using the library/ { on = 1 } on && /^```c$/ { code = 1; next }
     code && /^```$/ { exit } code' "$top/README.md" >"$tmp/example.c"
[ -s "$tmp/example.c" ] || fail "no C example under '## Using the library' in README.md"
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" $flags ||
    fail "README.md's example does not build with: cc example.c $flags"
export LD_LIBRARY_PATH="$libdir"
ldd "$tmp/example" | grep -q "libsmmap.so.$so => $libdir/" ||
    fail "the example does not load the installed library"
# The example prints the sum of the file's bytes.
head -c 300000 /dev/urandom >"$tmp/data"
want=$(od -An -v -tu1 "$tmp/data" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s }')
got=$("$tmp/example" "$tmp/data") || fail "README.md's example failed"
[ "$got" = "$want" ] || fail "README.md's example printed '$got', expected '$want'"
ok "README.md's example builds with pkg-config and runs"

# Static linking: the archive and pkg-config's private flags suffice.
# shellcheck disable=SC2046
cc -std=c11 -o "$tmp/example-static" "$tmp/example.c" \
    $(pkg-config --cflags smmap) "$libdir/libsmmap.a" \
    $(pkg-config --static --libs-only-other smmap) ||
    fail "README.md's example does not link against libsmmap.a"
! readelf -d "$tmp/example-static" | grep -q 'NEEDED.*libsmmap' ||
    fail "the static build still needs libsmmap.so"
got=$(LD_LIBRARY_PATH= "$tmp/example-static" "$tmp/data") || fail "static example failed"
[ "$got" = "$want" ] || fail "static example printed '$got', expected '$want'"
ok "README.md's example links statically"

# A CMake project: find_package(smmap MAJOR.MINOR) and smmap::smmap (the
# shared library; the static one with SMMAP_USE_STATIC_LIBS), against the
# tree alone; a version the config does not promise is refused.
command -v cmake >/dev/null || fail "no cmake"
mkdir -p "$tmp/cm"
cp "$tmp/example.c" "$tmp/cm/"
cmake_project() { # VERSION
    cat >"$tmp/cm/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(smmap $1 REQUIRED)
add_executable(example example.c)
target_link_libraries(example PRIVATE smmap::smmap)
EOF
}
cmake_project "$major.$minor"
for kind in shared static; do
    opt=-DSMMAP_USE_STATIC_LIBS=OFF
    [ $kind = static ] && opt=-DSMMAP_USE_STATIC_LIBS=ON
    { cmake -S "$tmp/cm" -B "$tmp/cm-$kind" -DCMAKE_PREFIX_PATH="$dest$prefix" "$opt" &&
      cmake --build "$tmp/cm-$kind"; } >"$tmp/cm-$kind.log" 2>&1 ||
        { tail -n 20 "$tmp/cm-$kind.log" >&2; fail "the CMake consumer ($kind) does not build"; }
    got=$("$tmp/cm-$kind/example" "$tmp/data") || fail "the CMake consumer ($kind) failed"
    [ "$got" = "$want" ] || fail "the CMake consumer ($kind) printed '$got', expected '$want'"
    needed=$(readelf -d "$tmp/cm-$kind/example" | grep -c 'NEEDED.*libsmmap' || true)
    [ "$kind:$needed" = shared:1 ] || [ "$kind:$needed" = static:0 ] ||
        fail "the CMake consumer ($kind) links libsmmap.so $needed times"
done
cmake_project "$major.$((minor + 1))"
cmake -S "$tmp/cm" -B "$tmp/cm-newer" -DCMAKE_PREFIX_PATH="$dest$prefix" \
    >"$tmp/cm-newer.log" 2>&1 && fail "find_package(smmap $major.$((minor + 1))) accepted $major.$minor"
ok "a CMake project finds smmap $major.$minor (shared and static) and refuses $major.$((minor + 1))"

# The installed program runs against the installed library.
"$dest$prefix/bin/smmap" sum "$tmp/data" >"$tmp/sum" || fail "installed smmap sum failed"
grep -q "^[0-9a-f]\{8\}  300000  $tmp/data\$" "$tmp/sum" ||
    fail "installed smmap sum printed: $(cat "$tmp/sum")"
ok "installed smmap sum runs"
echo "installed.sh: all checks passed"
