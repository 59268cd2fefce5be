#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Longer libFuzzer runs (not part of the test suite): bench/fuzz.sh [SECONDS] runs every
# fuzz target for SECONDS (default 60) with ASan/UBSan, on a copy of its seed corpus, and
# keeps crashes in build-fuzz/crashes/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-60}
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-fuzz
mkdir -p build-fuzz/crashes
for corpus in tests/fuzz/corpus/*/; do
        name=$(basename "$corpus")
        work=$(mktemp -d)
        cp -r "$corpus". "$work/"
        echo "== $name ($secs s)"
        "build-fuzz/tests/fuzz/$name" -max_total_time="$secs" \
                -artifact_prefix=build-fuzz/crashes/ "$work" 2>&1 | tail -2
        rm -rf "$work"
done
