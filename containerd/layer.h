/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layers: a layer tar (OCI image-spec v1.0.2 layer.md: changesets with ".wh." whiteouts and
 * ".wh..wh..opq" opaque markers) applied onto a directory, and a directory's changes written
 * as such a tar. The reader decompresses gzip or zstd (detected from the first bytes) and
 * hashes the uncompressed stream on the way, so a layer's diff_id is known once it is
 * unpacked. libarchive parses and writes the tar itself.
 *
 * Errors are -errno. A layer whose content is bad (a name leaving the root, a hardlink to
 * nothing, a truncated or corrupt stream, more entries than allowed) gives -EINVAL, and err
 * names the entry and the reason: "layer entry \"etc/../../x\": path leaves the layer root".
 * Failures of the file system keep their errno (-ENOSPC, -EIO ...). Nothing here logs.
 *
 * Paths under a root never leave it. Entry names with a ".." component and absolute names are
 * refused. Parent directories are resolved below root_fd as in a chroot: a symlink in the tree
 * whose target stays inside is followed, so Debian's usrmerge ("lib -> usr/lib") and images
 * with absolute symlinks ("var/run -> /run", resolved against the root, not the host's "/")
 * unpack as Docker and containerd unpack them; a symlink whose resolution climbs above the
 * root ("evil -> ../../..") is an error naming the entry and the symlink. The last component
 * of an entry is never followed: a symlink there is replaced, not written through. Hardlink
 * targets resolve the same way and must exist.
 *
 * Extended attributes of symlinks, devices and fifos go through /proc/self/fd/<dir>/<name>
 * (no *at() xattr calls on Debian 12's kernel), so /proc must be mounted. There is no shared
 * state: calls on different roots may run in parallel threads.
 */
#pragma once

#include <sys/types.h>

#include "lib/digest.h"
#include "lib/errmsg.h"
#include "lib/image-spec.h"

/* Entries per layer when layer_apply_opts.max_entries is 0. */
#define LAYER_MAX_ENTRIES_DEFAULT (UINT64_C(1) << 21)
/* The largest extended attribute value read from a tar or a tree (the kernel's XATTR_SIZE_MAX). */
#define LAYER_XATTR_VALUE_MAX (64u << 10)

enum layer_whiteouts {
        /*
         * The layer is unpacked alone into an empty overlay upper dir: ".wh.x" becomes a 0/0
         * char device x (owned by the whiteout entry's uid/gid), ".wh..wh..opq" the xattr
         * trusted.overlay.opaque=y on its dir (Docker overlay2's convention; lets layers
         * unpack in parallel).
         */
        LAYER_WHITEOUTS_OVERLAY,
        /*
         * The tree below is present (native copy snapshots, a mounted overlay): ".wh.x"
         * removes x, an opaque marker removes every entry of that dir not written by this
         * layer (whatever the order of the marker and the entries in the tar).
         */
        LAYER_WHITEOUTS_APPLY,
        _LAYER_WHITEOUTS_MAX,
};

/* "overlay", "apply"; NULL when out of range. */
const char *layer_whiteouts_to_string(enum layer_whiteouts w);
/* The mode named s, or -EINVAL. */
int layer_whiteouts_from_string(const char *s);

/* Reads up to size bytes into buf: the count, 0 at EOF, -errno on error. */
typedef ssize_t (*layer_read_fn)(void *userdata, void *buf, size_t size);
/* A layer_read_fn over a file descriptor: userdata points to the int fd (borrowed). */
ssize_t layer_read_fd(void *userdata, void *buf, size_t size);

/*
 * The uncompressed bytes of a layer stream. The compression is sniffed from the first bytes
 * (gzip 1f 8b, zstd 28 b5 2f fd or a skippable frame, anything else is a plain tar), every
 * byte handed out is hashed, and after EOF the diff_id and size are known. gzip streams may
 * have several members; data after the last one, a bad CRC, a truncated stream or a corrupt
 * frame is -EINVAL with err "gzip: ..." or "zstd: ...". Not thread-safe.
 */
struct layer_reader;

/* A reader pulling from read/userdata (both borrowed for the reader's lifetime). */
int layer_reader_new(layer_read_fn read, void *userdata, struct layer_reader **ret,
                     struct errmsg *err);
/*
 * The next block of uncompressed bytes: *ret_buf is borrowed until the next call or the
 * free; *ret_size is 0 at EOF (and stays so). Blocks are up to 1 MiB.
 */
int layer_reader_next(struct layer_reader *r, const void **ret_buf, size_t *ret_size,
                      struct errmsg *err);
/* Reads the rest of the stream to EOF (hashing it). */
int layer_reader_drain(struct layer_reader *r, struct errmsg *err);
/* The compression sniffed from the first bytes. */
enum layer_compression layer_reader_compression(const struct layer_reader *r);
/*
 * After EOF: "sha256:<hex>" of the uncompressed stream into ret and its size into
 * *ret_size (may be NULL). -EBUSY before EOF.
 */
int layer_reader_diff_id(const struct layer_reader *r, char ret[DIGEST_STR_MAX],
                         uint64_t *ret_size);
/* Frees r; accepts NULL and returns NULL. */
struct layer_reader *layer_reader_free(struct layer_reader *r);
DEFINE_CLEANUP_FUNC(struct layer_reader, layer_reader_free)

struct layer_apply_opts {
        enum layer_whiteouts whiteouts;
        uint64_t max_entries; /* 0: LAYER_MAX_ENTRIES_DEFAULT */
};

struct layer_apply_result {
        char diff_id[DIGEST_STR_MAX]; /* sha256 of the uncompressed tar stream */
        uint64_t tar_size;            /* bytes of the uncompressed stream */
        uint64_t n_entries;           /* tar entries read, whiteouts and skipped ones included */
};

/*
 * Reads a layer (plain tar, gzip or zstd, detected from the first bytes) from in_fd to EOF
 * and applies it under root_fd (both borrowed). The uncompressed stream is hashed on the way
 * and consumed to EOF even past the tar's end blocks, so the diff_id is the digest of all its
 * bytes. An empty stream is an empty layer.
 *
 * Entries: regular files, directories, symlinks, hardlinks (to an entry earlier in the layer
 * or, in APPLY mode, already in the tree), char/block devices, fifos; sockets and pax global
 * headers are skipped, and so is an entry naming the root itself ("./"). "./" prefixes, "."
 * components, repeated and trailing "/" are accepted. An existing entry is replaced (a
 * directory only by a non-directory, and then removed recursively); a directory over a
 * directory keeps its contents and takes the new metadata. Ownership is the tar's numeric
 * uid/gid (lchown), then xattrs (trusted.overlay.* from the tar are skipped, and so are ones
 * the file system refuses with EOPNOTSUPP, or user.* ones it refuses on special files), then
 * the mode with setuid/setgid/sticky, then atime/mtime (directories' after all entries, so
 * that their children do not disturb them). Parents missing from the tar are created 0755,
 * root-owned. Other ".wh..wh." names (".wh..wh..plnk") are ignored.
 *
 * o may be NULL: all fields 0 (OVERLAY, the default cap). Nothing is fsynced: the caller
 * syncs the file system once. On failure what was already written stays (the caller
 * discards the snapshot) and *ret is untouched.
 */
int layer_apply(int root_fd, int in_fd, const struct layer_apply_opts *o,
                struct layer_apply_result *ret, struct errmsg *err);
/* The same from any reader (read and userdata are borrowed for the call). */
int layer_apply_from(int root_fd, layer_read_fn read, void *userdata,
                     const struct layer_apply_opts *o, struct layer_apply_result *ret,
                     struct errmsg *err);

struct layer_diff_opts {
        enum layer_compression compression; /* of the bytes written to out_fd */
};

struct layer_diff_result {
        char diff_id[DIGEST_STR_MAX]; /* sha256 of the uncompressed tar */
        char digest[DIGEST_STR_MAX];  /* sha256 of the bytes written to out_fd */
        uint64_t size;                /* bytes written to out_fd */
};

/*
 * The tar both diffs write: pax (ustar headers, pax records only where needed), entries
 * named relative to the root without "./" (directories with a trailing "/"), the root itself
 * left out, in a stable order (depth first, names sorted bytewise, a directory before its
 * children). Each entry carries numeric uid/gid (no user names), mode, mtime truncated to
 * seconds (as containerd writes it), device numbers, symlink targets and the xattrs except
 * trusted.overlay.* and security.selinux (host labels are no part of an image). The second
 * and later names of an inode with several links become hardlinks to the first. Sockets are
 * left out. Whiteouts are empty regular files ".wh.<name>"; those of layer_diff_trees have
 * mode 0, uid/gid 0 and mtime 0, so that equal trees give equal bytes. The output is not
 * fsynced. o may be NULL (no compression); an out-of-range compression is -EINVAL. On
 * failure *ret is untouched and out_fd holds a partial stream.
 */

/*
 * The changes recorded in an overlay upper dir as a tar on out_fd (upper_fd and out_fd are
 * borrowed): every entry of upper_fd; a 0/0 char device becomes ".wh.<name>" (mode 0600,
 * the device's owner and mtime) and a directory with trusted.overlay.opaque=y is followed by
 * "<dir>/.wh..wh..opq", as Docker's overlay2 driver writes them. Redirect and metacopy
 * upper dirs are not supported (berth mounts overlays without them).
 */
int layer_diff_overlay(int upper_fd, int out_fd, const struct layer_diff_opts *o,
                       struct layer_diff_result *ret, struct errmsg *err);
/*
 * The changes from lower_fd's tree to upper_fd's tree (native snapshots: full copies), as
 * containerd's fs.Changes finds them: an entry of upper is written when it is new or when
 * type, mode, uid, gid, device number or xattrs differ; for non-directories also size,
 * symlink target and mtime (seconds and nanoseconds); when both mtimes have zero nanoseconds
 * (truncated by a tar) and all else is equal, the contents decide. A deleted entry becomes
 * ".wh.<name>" (a deleted directory is one whiteout). The parent directories of every change
 * are written before it. An unchanged file with several links is written as a hardlink when
 * another of its names is.
 */
int layer_diff_trees(int lower_fd, int upper_fd, int out_fd, const struct layer_diff_opts *o,
                     struct layer_diff_result *ret, struct errmsg *err);
