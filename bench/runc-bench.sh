#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs bench/runc-bench.py in a private mount namespace without the cgroup2 mount at
# /sys/fs/cgroup/unified, the one layout on which all of berth-runc, runc and crun work.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec unshare --mount --propagation private sh -c \
        'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec /usr/bin/python3 "$0" "$@"' \
        "$here/runc-bench.py" "$@"
