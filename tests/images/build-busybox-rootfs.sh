#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-busybox-rootfs.sh DEST
#
# Builds a minimal busybox root filesystem in DEST without network access,
# from Debian's busybox-static package: DEST/bin/busybox, one symlink per
# applet, /etc/passwd, /etc/group, /etc/hostname and empty /proc /sys /dev
# /tmp /root. Idempotent: running it again on the same DEST only refreshes
# what is missing or stale.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
        echo "usage: $0 DEST" >&2
        exit 2
fi
dest=$1
busybox=/bin/busybox

if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
        echo "$0: $busybox missing, installing busybox-static" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2
fi
# The package must be the static one: the rootfs has no libc.
if command -v readelf >/dev/null 2>&1 &&
   LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
        echo "$0: $busybox is dynamically linked; install busybox-static" >&2
        exit 1
fi

mkdir -p "$dest"
cd "$dest"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev root tmp var/tmp
chmod 0755 . bin sbin usr usr/bin usr/sbin etc proc sys dev var
chmod 0700 root
chmod 1777 tmp var/tmp

if ! cmp -s "$busybox" bin/busybox; then
        cp "$busybox" bin/busybox.tmp
        chmod 0755 bin/busybox.tmp
        mv -f bin/busybox.tmp bin/busybox
fi

# One symlink per applet, all in bin/ (a flat layout keeps PATH lookups
# simple). One python3 process instead of one ln per applet keeps the first
# build well under a second; the shell loop is the fallback.
applets=$(bin/busybox --list | grep -vx busybox)
# Debian's python3 first: a pyenv shim on PATH costs a third of a second.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -n "$py" ]; then
        # shellcheck disable=SC2086
        "$py" -c '
import os, sys
for a in sys.argv[1:]:
    p = os.path.join("bin", a)
    if os.path.islink(p) and os.readlink(p) == "busybox":
        continue
    if os.path.lexists(p):
        os.unlink(p)
    os.symlink("busybox", p)
' $applets
else
        for applet in $applets; do
                [ -L "bin/$applet" ] || ln -sf busybox "bin/$applet"
        done
fi

write_if_changed() {
        # $1 path, stdin content
        tmp="$1.tmp.$$"
        cat >"$tmp"
        if cmp -s "$tmp" "$1"; then
                rm -f "$tmp"
        else
                chmod 0644 "$tmp"
                mv -f "$tmp" "$1"
        fi
}

write_if_changed etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
write_if_changed etc/group <<'G'
root:x:0:
tester:x:1000:
nogroup:x:65534:
G
write_if_changed etc/hostname <<'H'
berth-test
H
exit 0
