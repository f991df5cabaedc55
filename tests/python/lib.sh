# Sourced by the scripts that build the drop-in with pip: Debian's
# interpreter (offline: no build isolation, Debian's meson-python), a
# temporary directory $tmp removed on exit, and no native file left behind
# (meson-python 0.12 writes one into the source tree).
PY=/usr/bin/python3
tmp=$(mktemp -d)
native=.mesonpy-native-file.ini
[ -e "$native" ] && keep_native=1 || keep_native=0
trap 'rm -rf "$tmp"; [ "$keep_native" = 1 ] || rm -f "$native"' EXIT

# Install the drop-in into $tmp/site, or show pip's log and exit 1.
install_dropin() {
    if ! "$PY" -m pip install --no-build-isolation --no-index --target "$tmp/site" . \
            >"$tmp/pip.log" 2>&1; then
        tail -n 40 "$tmp/pip.log"
        echo "pip install failed"
        exit 1
    fi
}
