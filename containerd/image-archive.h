/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images to and from tar archives in berth-containerd's store: the archive formats and their
 * reading and writing are lib/image-archive.h's (shared with berth-ctr, which does the same
 * over the API); this is their store backend (image-archive.c) and the naming, unpacking and
 * recording of what an import brings, all in one namespace.
 */
#pragma once

#include "containerd/image.h"
#include "lib/image-archive.h"

struct image_import_opts {
        const char *snapshotter;             /* unpack into it; NULL: don't unpack */
        const struct oci_platform *platform; /* NULL: this host's */
        /*
         * Names the images of an OCI layout whose entry has no usable name annotation:
         * "<base_name>:<org.opencontainers.image.ref.name>" as ctr's --base-name. NULL: such
         * entries are imported without a name (and left to the garbage collector).
         */
        const char *base_name;
        /* Keep (record, label, require) every platform's content of an index, else only the
         * platform's: blobs of other platforms are written but not recorded. */
        bool all_platforms;
};

/*
 * Reads an archive from tar_fd (borrowed; a stream read once, in order, no seeking: a pipe
 * works; gzip/zstd/xz-compressed tars are accepted too) and records its images in ns:
 *
 * - Every regular file of the archive is written into the content store as it passes (OCI
 *   blobs/sha256/<hex> verified against their name; -EBADMSG on a mismatch); the JSON files
 *   are read into memory. Symlinks and hardlinks between members (docker save's repeated
 *   layers) are followed.
 * - An archive with oci-layout (imageLayoutVersion "1.0.0") is an OCI layout, even if it
 *   also has a manifest.json. Each index.json entry becomes an image named by its annotation
 *   io.containerd.image.name (verbatim), else org.opencontainers.image.ref.name when that is
 *   a full reference (it has '/', ':' or '@'; normalised: "busybox:1" is
 *   "docker.io/library/busybox:1"), else "<base_name>:<ref.name>" (normalised); entries with
 *   no name are not recorded. The target is the entry's descriptor. Each entry is walked
 *   down to its layers: every blob it references must be in the archive or already in the
 *   store, with its size; nested indexes keep only the platform's manifests (entries without
 *   a platform, the exact platform and the one oci_index_select() picks) unless
 *   all_platforms.
 * - Otherwise manifest.json makes one Docker schema 2 manifest per element, written into the
 *   store exactly as containerd 1.6's importer writes it (same bytes, so the same digest):
 *   config application/vnd.docker.container.image.v1+json (digest = sha256 of the Config
 *   file), layers ...rootfs.diff.tar, or .tar.gzip when the file starts as gzip (zstd:
 *   application/vnd.oci.image.layer.v1.tar+zstd); one image per RepoTags entry, normalised
 *   ("busybox:latest" is docker.io/library/busybox:latest). The config must parse and have
 *   one diff id per layer.
 * - Records and labels every blob walked (containerd.io/gc.ref.content.m.<i> on indexes,
 *   .config and .l.<i> on manifests), so the garbage collector keeps what an image needs.
 * - With o->snapshotter, unpacks each image for o->platform (image_unpack()); an image
 *   without that platform fails the import.
 * - Records the images last (an existing name is replaced). A later name in the archive wins
 *   over an earlier one of the same name.
 *
 * Everything written is held by a lease (image_lease_create()) until the images are
 * recorded; the lease is deleted at the end, success or not. On failure no image is recorded
 * or changed (blobs already written stay, unreferenced, for the garbage collector; ingests in
 * progress are removed) and *ret_names is untouched.
 *
 * Errors: -EINVAL for an archive that is not a tar, is truncated or corrupt, has neither
 * oci-layout nor manifest.json, bad JSON or a field that is wrong (err names the file, the
 * element and the member: "import: manifest.json: [0]: Layers[1] \"x/layer.tar\": not in
 * the archive"), no image to record, or more than the caps above; -ENOENT for a blob that is in
 * neither the archive nor the store ("import: index.json: manifests[0] sha256:...: config
 * sha256:...: not in the archive"); -EBADMSG for a blob whose bytes do not match its digest;
 * -EFBIG for a JSON file over its cap; -EOPNOTSUPP for an oci-layout of another version (or
 * a digest of another algorithm than sha256); errors of the store and of unpacking as
 * they come. ret_names (may be NULL) gets the names recorded, in archive order (a strv, the
 * caller's).
 */
int image_import(struct store *st, const char *ns, int tar_fd, const struct image_import_opts *o,
                 char ***ret_names, struct errmsg *err);

/*
 * Writes the images names (a strv, at least one; repeated names count once) of ns as one
 * tar to out_fd (borrowed; written in order, never sought: a pipe works), laid out as ctr
 * export writes it, in this order:
 *   blobs/ and blobs/sha256/ (directories), blobs/sha256/<hex> for every blob the images
 *   reference (sorted by digest; mode 0444), index.json (one entry per name, sorted by name:
 *   the image's target annotated io.containerd.image.name = the name and
 *   org.opencontainers.image.ref.name = its tag, when it has one), manifest.json
 *   (IMAGE_EXPORT_OCI_AND_DOCKER: [{"Config":"blobs/sha256/<hex>","RepoTags":[familiar names
 *   with a tag],"Layers":["blobs/sha256/<hex>",...]}], one element per manifest, for the
 *   platform), oci-layout, and repositories (IMAGE_EXPORT_OCI_AND_DOCKER: {familiar
 *   repository: {tag: top layer hex}}). Members are owned by 0:0 with mtime 0 (ustar), so the
 *   same images give the same bytes. docker load (moby 20.10) decompresses layers itself, so
 *   gzip layers load as they are.
 * Errors: -ENOENT for a name that is not an image of ns ("export: image \"x\": not found")
 * or a blob that must be exported but is not in the store; -EINVAL for a manifest or index
 * that does not parse or an image without the platform (docker format); write errors with
 * their errno (-EPIPE ...). On failure out_fd holds a partial tar.
 */
int image_export(struct store *st, const char *ns, char *const *names, int out_fd,
                 const struct image_export_opts *o, struct errmsg *err);
