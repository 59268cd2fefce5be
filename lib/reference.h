/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references ("busybox", "127.0.0.1:5000/a/b:tag@sha256:..."), parsed and normalised
 * as docker does: the grammar of distribution v2.8.2's reference package (regexp.go) and the
 * normalisation of its normalize.go (ParseNormalizedNamed, then TagNameOnly). That grammar
 * has no IPv6 literal domains ("[::1]:5000/x" is refused). Only sha256 digests are accepted.
 */
#pragma once

#include "errmsg.h"

/* Longest repository name, domain included (distribution's NameTotalLengthMax). */
#define IMAGE_REF_NAME_MAX 255
/* Longest tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
#define IMAGE_REF_TAG_MAX 128
/* Longest input looked at; anything longer cannot be a valid reference. */
#define IMAGE_REF_MAX 1024

struct image_ref {
        char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL only when a digest was given without a tag */
        char *digest; /* "sha256:..." or NULL */
};

/*
 * Parses and normalises s into *ret (the caller's; free with image_ref_free()):
 *   "busybox"                 -> docker.io/library/busybox:latest
 *   "index.docker.io/x"       -> docker.io/library/x:latest
 *   "localhost:5000/a/b:t@sha256:..." keeps the tag and the digest.
 * The first component is a domain only when it contains '.' or ':' or is "localhost". The
 * tag "latest" is added only when neither a tag nor a digest is given.
 * Errors (err reads "reference \"s\": why", naming the part): -EINVAL for an empty string, a
 * 64-hex-digit string (an image id, not a name), an uppercase repository name, a bad domain,
 * path component, tag or digest, a name longer than IMAGE_REF_NAME_MAX; -EOPNOTSUPP for a
 * well-formed digest of another algorithm than sha256 (digest_validate()).
 */
int image_ref_parse(const char *s, struct image_ref **ret, struct errmsg *err);
/* Frees r and its strings; accepts NULL and returns NULL. */
struct image_ref *image_ref_free(struct image_ref *r);
DEFINE_CLEANUP_FUNC(struct image_ref, image_ref_free)

/* The full form (the caller's): "docker.io/library/busybox:latest", "...:tag@sha256:...". */
char *image_ref_string(const struct image_ref *r);
/* domain/path (the caller's): "docker.io/library/busybox". */
char *image_ref_repository(const struct image_ref *r);
/*
 * As docker prints it (the caller's): "docker.io/" and a lone "library/" dropped:
 * "busybox:latest", "user/app:1", "127.0.0.1:5000/a:b", "x@sha256:...".
 */
char *image_ref_familiar(const struct image_ref *r);
/* What to ask a registry for (borrowed from r): the digest when there is one, else the tag. */
const char *image_ref_object(const struct image_ref *r);
