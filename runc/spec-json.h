/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to runc/: typed access to jansson values for the config.json parsers (spec.c,
 * spec-linux.c, seccomp.c). Every helper names the full field path in err
 * ("mounts[2].destination: expected string"), so the parsers only say what is wrong with
 * a value, never where it is.
 *
 * Getters (jget_*) look key up in obj, a JSON object. An absent key or a JSON null (Go's
 * encoding/json, which wrote most config.json files, reads null as "not set") returns 0
 * and leaves *ret untouched, or fails with "path.key: required" when flags has
 * JSON_REQUIRED. A value of the right type sets *ret and returns 1. A wrong type is
 * -EINVAL "path.key: expected <type>". Strings returned as char * are the caller's.
 */
#pragma once

#include <jansson.h>

#include "runc/spec.h"

#define JPATH_MAX     256
#define JSON_REQUIRED (1u << 0)

/* Child paths into buf: "parent.key" ("key" when parent is "") and "parent[i]". */
const char *jpath_key(char buf[static JPATH_MAX], const char *parent, const char *key);
const char *jpath_index(char buf[static JPATH_MAX], const char *parent, size_t i);

/*
 * Loads JSON text of at most SPEC_MAX_BYTES into *ret (the caller's reference). Integers
 * above INT64_MAX (uint64 fields such as RLIM_INFINITY) are kept: jansson cannot hold them,
 * so they reach jval_uint64() in an internal form that no other getter accepts. Errors
 * read "line L, column C: why".
 */
int spec_json_load(const char *text, size_t len, json_t **ret, struct errmsg *err);

/* Checks of a value already looked up; path is the value's full path. */
int jval_string(json_t *v, const char *path, const char **ret, struct errmsg *err);
int jval_int64(json_t *v, const char *path, int64_t min, int64_t max, int64_t *ret,
               struct errmsg *err);
int jval_uint64(json_t *v, const char *path, uint64_t max, uint64_t *ret, struct errmsg *err);
int jval_object(json_t *v, const char *path, struct errmsg *err);
int jval_array(json_t *v, const char *path, struct errmsg *err);

/* Looks key up; returns 1 and the borrowed value, or 0 when absent or null. */
int jget(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
         struct errmsg *err);

int jget_string(json_t *obj, const char *path, const char *key, unsigned flags, char **ret,
                struct errmsg *err);
/* A string that must be an absolute path ("path.key: not an absolute path"). */
int jget_abs_path(json_t *obj, const char *path, const char *key, unsigned flags, char **ret,
                  struct errmsg *err);
int jget_bool(json_t *obj, const char *path, const char *key, unsigned flags, bool *ret,
              struct errmsg *err);
int jget_int64(json_t *obj, const char *path, const char *key, unsigned flags, int64_t *ret,
               struct errmsg *err);
int jget_uint64(json_t *obj, const char *path, const char *key, unsigned flags, uint64_t *ret,
                struct errmsg *err);
int jget_uint32(json_t *obj, const char *path, const char *key, unsigned flags, uint32_t *ret,
                struct errmsg *err);
int jget_uint16(json_t *obj, const char *path, const char *key, unsigned flags, uint16_t *ret,
                struct errmsg *err);
/* Borrowed object or array. */
int jget_object(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
                struct errmsg *err);
int jget_array(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
               struct errmsg *err);
/* An array of strings as a NULL-terminated vector (the caller's; never NULL when found). */
int jget_strv(json_t *obj, const char *path, const char *key, unsigned flags, char ***ret,
              struct errmsg *err);
/* An object whose values are all strings, as key/value pairs in document order. */
int jget_string_map(json_t *obj, const char *path, const char *key, struct oci_key_value **ret,
                    size_t *ret_n, struct errmsg *err);

/*
 * Parses one array element: elem is a JSON object (checked), path its full path, item the
 * zeroed slot to fill.
 */
typedef int (*jelem_parse_fn)(json_t *elem, const char *path, void *item, struct errmsg *err);

/*
 * Parses each element of arr (a JSON array of objects, checked) through parse, into
 * items[0..n) of elem_size bytes each, which the caller allocated zeroed and already stored
 * in the struct being built, so that on failure its destructor releases whatever was
 * filled in.
 */
int jarray_parse_objects(json_t *arr, const char *path, void *items, size_t elem_size,
                         jelem_parse_fn parse, struct errmsg *err);

/*
 * jget_array() and jarray_parse_objects() in one: allocates the zeroed items, stores them in
 * *ret_items (a pointer to the struct's array pointer, e.g. &spec->mounts) and their count
 * in *ret_n, then parses each element. Returns 1 when found, 0 when absent.
 */
int jget_objects(json_t *obj, const char *path, const char *key, size_t elem_size,
                 jelem_parse_fn parse, void *ret_items, size_t *ret_n, struct errmsg *err);

void oci_key_values_free(struct oci_key_value *kv, size_t n);

/*
 * The linux section (spec-linux.c): parses obj into the zeroed *l; on failure *l is half
 * filled and oci_linux_release() frees it.
 */
int oci_linux_parse(json_t *obj, const char *path, struct oci_linux *l, struct errmsg *err);
void oci_linux_release(struct oci_linux *l);
