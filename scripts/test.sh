#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every test: unit tests and fuzz corpora (release and ASan/UBSan builds), the
# integration suite against berth-runc (release and ASan/UBSan builds), and the interop
# suite against the real Debian peers (containerd, dockerd). Needs root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
py=/usr/bin/python3

sh scripts/deps.sh

echo "== formatting (clang-format, .clang-format)"
find lib runc shim containerd ctr tests -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror

build() { # DIR [meson options...]
        dir=$1
        shift
        [ -d "$dir" ] || meson setup "$dir" --werror "$@" >/dev/null
        ninja -C "$dir"
}

build build-release --buildtype=release
build build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
[ -d build-clang ] || CC=clang meson setup build-clang --werror >/dev/null
ninja -C build-clang

echo "== unit + fuzz corpora (release)"
meson test -C build-release --suite unit --suite fuzz --print-errorlogs
echo "== unit + fuzz corpora (clang)"
meson test -C build-clang --suite unit --suite fuzz --print-errorlogs
echo "== unit + fuzz corpora (ASan/UBSan)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --suite unit --suite fuzz --print-errorlogs

echo "== integration (release)"
BERTH_BUILD="$top/build-release" BERTH_STORE="$top/build-release/tests/store-tool/berth-store" \
        BERTH_RUNTIME="$top/build-release/runc/berth-runc" \
        BERTH_SHIM="$top/build-release/shim/berth-containerd-shim" \
        $py -m pytest -q -m "not interop" tests/integration
echo "== integration (ASan/UBSan)"
BERTH_BUILD="$top/build-asan" BERTH_STORE="$top/build-asan/tests/store-tool/berth-store" \
        BERTH_RUNTIME="$top/build-asan/runc/berth-runc" BERTH_SANITIZED=1 \
        BERTH_SHIM="$top/build-asan/shim/berth-containerd-shim" \
        ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        $py -m pytest -q -m "not interop and not slow" tests/integration
echo "== interop (release)"
BERTH_BUILD="$top/build-release" BERTH_STORE="$top/build-release/tests/store-tool/berth-store" \
        BERTH_RUNTIME="$top/build-release/runc/berth-runc" \
        BERTH_SHIM="$top/build-release/shim/berth-containerd-shim" \
        $py -m pytest -q -m interop tests/interop
