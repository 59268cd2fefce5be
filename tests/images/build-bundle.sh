#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-bundle.sh DEST [ARGS...]
#
# Builds an OCI bundle in DEST: DEST/rootfs (busybox, see
# build-busybox-rootfs.sh) and DEST/config.json with `runc spec` defaults
# except process.terminal=false; process.args are ARGS (default: sh).
# No container runtime is used to produce the config.
set -eu

if [ $# -lt 1 ] || [ -z "$1" ]; then
        echo "usage: $0 DEST [ARGS...]" >&2
        exit 2
fi
dest=$1
shift
here=$(cd "$(dirname "$0")" && pwd)

py=/usr/bin/python3
[ -x "$py" ] || py=python3

mkdir -p "$dest"
"$here/build-busybox-rootfs.sh" "$dest/rootfs"
"$py" "$here/make_config.py" -o "$dest/config.json" -- "$@"
