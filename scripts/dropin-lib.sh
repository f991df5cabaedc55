# Sourced by scripts/python-versions.sh and scripts/pypy.sh: the drop-in
# laid out for an interpreter pip cannot build for (Debian's meson finds no
# Python >= 3.12, meson-python 0.12 wants >= 3.10, PyPy has no pytest), its
# extension compiled with cc and that interpreter's sysconfig against the
# static library and generated headers of a meson build directory.

# stage_dropin PY DIR BUILD: DIR/smmap (the package), DIR/unittest_versions.py;
# on failure the compiler's output is in DIR/cc.log and the status is 1.
stage_dropin() {
    local py=$1 dir=$2 build=$3 inc suffix
    mkdir -p "$dir/smmap"
    cp python/smmap/*.py "$dir/smmap/"
    cp tests/python/unittest_versions.py "$dir/"
    inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -DSMMAP_STATIC -Iinclude -I"$build/include" \
        -I"$inc" python/smmap/_smmap/*.c "$build/libsmmap.a" -pthread \
        -o "$dir/smmap/_smmap$suffix" >"$dir/cc.log" 2>&1
}
