#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sets a fresh Debian 12 machine up for berth and runs the main job: installs the packages,
# builds and installs berth, builds a busybox bundle from Debian's busybox-static and runs
# a container from it with berth-runc.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh scripts/deps.sh
[ -d build ] || meson setup build --prefix=/usr/local --buildtype=release >/dev/null
ninja -C build
meson install -C build --quiet

bundle=/var/lib/berth/bundles/busybox
sh tests/images/build-bundle.sh "$bundle" echo "hello from a berth container"
/usr/local/bin/berth-runc --root /run/berth-runc run --bundle "$bundle" "berth-demo-$$"
