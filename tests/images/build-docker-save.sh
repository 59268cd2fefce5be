#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-docker-save.sh DEST.tar [NAME:TAG]
#
# Writes a `docker save`-style archive (moby image spec v1.2) of the busybox
# rootfs (see build-busybox-rootfs.sh), loadable with `docker load` and
# `ctr images import`. Default NAME:TAG is busybox:latest. No network, no
# daemon: the layer tar, the image config and manifest.json are made here.
# The output is reproducible (sorted entries, fixed mtimes and owners).
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
case $ref in
*:*) name=${ref%:*} tag=${ref##*:} ;;
*) name=$ref tag=latest ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/docker-save.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

"$here/build-busybox-rootfs.sh" "$work/rootfs"

tarflags="--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix
          --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime"
mkdir "$work/out"
# shellcheck disable=SC2086
# Entry names without "./", as `docker save` writes them.
(cd "$work/rootfs" && tar $tarflags -cf "$work/layer.tar" -- *)
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
# A v1.2 archive names the layer directory by a v1 id; the diff id is unique
# enough for one layer.
layer_id=$diff_id
mkdir "$work/out/$layer_id"
mv "$work/layer.tar" "$work/out/$layer_id/layer.tar"
printf '1.0' >"$work/out/$layer_id/VERSION"

created=1970-01-01T00:00:00Z
env='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
printf '{"id":"%s","created":"%s","container_config":{"Env":%s,"Cmd":["sh"]},"config":{"Env":%s,"Cmd":["sh"]},"architecture":"%s","os":"linux"}' \
        "$layer_id" "$created" "$env" "$env" "$arch" >"$work/out/$layer_id/json"

config=$(printf '{"architecture":"%s","config":{"Env":%s,"Cmd":["sh"],"WorkingDir":"/"},"created":"%s","history":[{"created":"%s","created_by":"tests/images/build-docker-save.sh"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$arch" "$env" "$created" "$created" "$diff_id")
config_id=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
printf '%s' "$config" >"$work/out/$config_id.json"

printf '[{"Config":"%s.json","RepoTags":["%s:%s"],"Layers":["%s/layer.tar"]}]' \
        "$config_id" "$name" "$tag" "$layer_id" >"$work/out/manifest.json"
printf '{"%s":{"%s":"%s"}}' "$name" "$tag" "$layer_id" >"$work/out/repositories"

mkdir -p "$(dirname "$dest")"
# shellcheck disable=SC2086
(cd "$work/out" && tar $tarflags -cf "$dest.tmp" -- *)
mv -f "$dest.tmp" "$dest"
