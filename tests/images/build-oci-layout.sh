#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-oci-layout.sh DEST.tar [NAME:TAG]
#
# Writes an OCI image layout (image-spec v1.0.2 image-layout.md) of the busybox rootfs
# (see build-busybox-rootfs.sh) as a tar: oci-layout, index.json (the tag in the
# org.opencontainers.image.ref.name annotation) and blobs/sha256/ holding a gzip layer, the
# image config and the manifest. Loadable with `ctr images import`. No network; the output
# is reproducible (sorted entries, fixed mtimes and owners, gzip -n).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
        echo "usage: $0 DEST.tar [NAME:TAG]" >&2
        exit 2
fi
dest=$1
case $dest in
/*) ;;
*) dest=$PWD/$dest ;;
esac
ref=${2:-busybox:latest}
here=$(cd "$(dirname "$0")" && pwd)
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/oci-layout.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

"$here/build-busybox-rootfs.sh" "$work/rootfs"
blobs=$work/out/blobs/sha256
mkdir -p "$blobs"

tarflags="--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix
          --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime"
# shellcheck disable=SC2086
(cd "$work/rootfs" && tar $tarflags -cf "$work/layer.tar" -- *)
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -6 "$work/layer.tar"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$blobs/$layer"

blob() { # writes stdin as a blob, prints "digest size"
        cat >"$work/blob"
        d=$(sha256sum "$work/blob" | cut -d' ' -f1)
        mv "$work/blob" "$blobs/$d"
        echo "$d $(stat -c %s "$blobs/$d")"
}

env='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
set -- $(printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":%s,"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tests/images/build-oci-layout.sh"}]}' \
        "$arch" "$env" "$diff_id" | blob)
config=$1 config_size=$2
set -- $(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" | blob)
manifest=$1 manifest_size=$2

printf '{"imageLayoutVersion":"1.0.0"}' >"$work/out/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest" "$manifest_size" "$arch" "$ref" >"$work/out/index.json"

mkdir -p "$(dirname "$dest")"
# shellcheck disable=SC2086
(cd "$work/out" && tar $tarflags -cf "$dest.tmp" -- *)
mv -f "$dest.tmp" "$dest"
