#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package berth needs to build, test and run its interop peers.
# Services are never started by the install (policy-rc.d), so no docker or containerd
# daemon touches the host: the tests start their own on private paths.
set -eu

packages="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format
libjansson-dev libseccomp-dev libcap-dev libcmocka-dev
libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libssl-dev
libarchive-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libzstd-dev sqlite3 libmd-dev
libnghttp2-dev
python3 python3-pytest python3-grpcio busybox-static procps iproute2 util-linux time
runc crun containerd docker.io conmon docker-registry skopeo apache2-utils"

missing=""
for p in $packages; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
                missing="$missing $p"
done
[ -z "$missing" ] && exit 0

policy=/usr/sbin/policy-rc.d
added_policy=no
if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 0755 "$policy"
        added_policy=yes
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
[ "$added_policy" = yes ] && rm -f "$policy"
exit 0
