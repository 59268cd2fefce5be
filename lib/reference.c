/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references (see reference.h). The grammar, from distribution v2.8.2 reference/:
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] component ( "/" component )*
 *   domain    := domain-part ( "." domain-part )* [ ":" [0-9]+ ]
 *   domain-part := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   component := [a-z0-9]+ ( separator [a-z0-9]+ )*,  separator := "." | "_" | "__" | "-"+
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * Written as small hand matchers rather than regular expressions: each part is checked on
 * its own, so an error can say which part is wrong. The domain is split off first, as
 * normalize.go's splitDockerDomain() does, which is what decides between "host:port/x" and
 * "name:tag".
 */
#include "reference.h"

#include "digest.h"
#include "xalloc.h"

#define DEFAULT_DOMAIN        "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX  "library/"
#define DEFAULT_TAG           "latest"

/* ASCII only, whatever the locale. */
static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_upper(char c)
{
        return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || is_upper(c);
}

static bool is_word_char(char c)
{
        return is_alnum(c) || c == '_';
}

/* A 64-hex-digit string is an image id; docker refuses it as a name. */
static bool is_image_id(const char *s)
{
        size_t n = strspn(s, "0123456789abcdef");

        return n == DIGEST_HEX_LEN && s[n] == '\0';
}

static bool domain_part_is_valid(const char *s, size_t len)
{
        if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool domain_is_valid(const char *s)
{
        const char *colon = strchr(s, ':');
        size_t host_len = colon ? (size_t) (colon - s) : strlen(s);
        size_t start = 0;

        if (colon && (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
                return false;
        for (size_t i = 0; i <= host_len; i++) {
                if (i < host_len && s[i] != '.')
                        continue;
                if (!domain_part_is_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

/* Length of the run of [a-z0-9] at s (at most len). */
static size_t alnum_run(const char *s, size_t len)
{
        size_t n = 0;

        while (n < len && is_lower_alnum(s[n]))
                n++;
        return n;
}

static bool path_component_is_valid(const char *s, size_t len)
{
        size_t i = alnum_run(s, len), n;

        if (i == 0)
                return false;
        while (i < len) {
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
                } else if (s[i] == '-') {
                        while (i < len && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                n = alnum_run(s + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

static bool path_is_valid(const char *s)
{
        size_t len = strlen(s), start = 0;

        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != '/')
                        continue;
                if (!path_component_is_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

static bool tag_is_valid(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > IMAGE_REF_TAG_MAX || !is_word_char(s[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_word_char(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/*
 * normalize.go's splitDockerDomain(): the first component is a domain only when it has a '.'
 * or ':' or is "localhost"; "index.docker.io" becomes "docker.io"; a one-component name on
 * docker.io is an official image under "library/".
 */
static void split_docker_domain(const char *s, char **ret_domain, char **ret_remainder)
{
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : 0;
        _cleanup_free_ char *domain = NULL;
        const char *remainder = s;

        if (slash && (memchr(s, '.', n) || memchr(s, ':', n) ||
                      (n == STRLEN("localhost") && strncmp(s, "localhost", n) == 0))) {
                domain = xstrndup(s, n);
                remainder = slash + 1;
        }
        if (!domain || STREQ(domain, LEGACY_DEFAULT_DOMAIN)) {
                free(domain);
                domain = xstrdup(DEFAULT_DOMAIN);
        }
        if (STREQ(domain, DEFAULT_DOMAIN) && !strchr(remainder, '/'))
                *ret_remainder = xasprintf(OFFICIAL_REPO_PREFIX "%s", remainder);
        else
                *ret_remainder = xstrdup(remainder);
        *ret_domain = TAKE_PTR(domain);
}

/* Checks domain and path of r, already split; s is the input, for messages. */
static int check_name(const char *s, const struct image_ref *r, struct errmsg *err)
{
        for (const char *p = r->path; *p; p++)
                if (is_upper(*p))
                        return errmsg_set(err, -EINVAL,
                                          "reference \"%s\": repository name must be lowercase", s);
        if (!domain_is_valid(r->domain))
                return errmsg_set(err, -EINVAL, "reference \"%s\": invalid domain \"%s\"", s,
                                  r->domain);
        if (!path_is_valid(r->path))
                return errmsg_set(err, -EINVAL, "reference \"%s\": invalid repository name \"%s\"",
                                  s, r->path);
        if (strlen(r->domain) + 1 + strlen(r->path) > IMAGE_REF_NAME_MAX)
                return errmsg_set(
                        err, -EINVAL,
                        "reference \"%s\": repository name must not be more than %d characters", s,
                        IMAGE_REF_NAME_MAX);
        return 0;
}

/* Splits remainder ("path[:tag][@digest]") into r and checks every part. */
static int parse_remainder(const char *s, char *remainder, struct image_ref *r, struct errmsg *err)
{
        char *at, *colon;
        int k;

        at = strchr(remainder, '@');
        if (at) {
                *at = '\0';
                r->digest = xstrdup(at + 1);
        }
        colon = strchr(remainder, ':');
        if (colon) {
                *colon = '\0';
                r->tag = xstrdup(colon + 1);
        }
        r->path = xstrdup(remainder);

        k = check_name(s, r, err);
        if (k < 0)
                return k;
        if (r->tag && !tag_is_valid(r->tag))
                return errmsg_set(err, -EINVAL, "reference \"%s\": invalid tag \"%s\"", s, r->tag);
        if (r->digest) {
                k = digest_validate(r->digest, err);
                if (k < 0)
                        return errmsg_prefix(err, k, "reference \"%s\"", s);
        }
        return 0;
}

int image_ref_parse(const char *s, struct image_ref **ret, struct errmsg *err)
{
        _cleanup_(image_ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *remainder = NULL;
        int k;

        assert(s);
        assert(ret);
        if (s[0] == '\0')
                return errmsg_set(err, -EINVAL, "reference \"\": empty");
        if (strnlen(s, IMAGE_REF_MAX + 1) > IMAGE_REF_MAX)
                return errmsg_set(err, -EINVAL, "reference \"%.64s...\": longer than %d bytes", s,
                                  IMAGE_REF_MAX);
        if (is_image_id(s))
                return errmsg_set(
                        err, -EINVAL,
                        "reference \"%s\": a 64-hex-digit image id is not a repository name", s);

        r = xnew0(struct image_ref, 1);
        split_docker_domain(s, &r->domain, &remainder);
        k = parse_remainder(s, remainder, r, err);
        if (k < 0)
                return k;
        /* distribution's TagNameOnly(): a bare name means ":latest". */
        if (!r->tag && !r->digest)
                r->tag = xstrdup(DEFAULT_TAG);

        *ret = TAKE_PTR(r);
        return 0;
}

struct image_ref *image_ref_free(struct image_ref *r)
{
        if (r) {
                free(r->domain);
                free(r->path);
                free(r->tag);
                free(r->digest);
                free(r);
        }
        return NULL;
}

/* name, then ":tag" and "@digest" when r has them. */
static char *join_name(const char *name, const struct image_ref *r)
{
        return xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                         r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *image_ref_string(const struct image_ref *r)
{
        _cleanup_free_ char *name = image_ref_repository(r);

        return join_name(name, r);
}

char *image_ref_repository(const struct image_ref *r)
{
        assert(r);
        return xasprintf("%s/%s", r->domain, r->path);
}

char *image_ref_familiar(const struct image_ref *r)
{
        _cleanup_free_ char *name = NULL;
        const char *path;

        assert(r);
        if (!STREQ(r->domain, DEFAULT_DOMAIN)) {
                name = image_ref_repository(r);
                return join_name(name, r);
        }
        /* normalize.go's familiarizeName(): "library/x" is "x", "library/x/y" stays. */
        path = r->path;
        if (strncmp(path, OFFICIAL_REPO_PREFIX, STRLEN(OFFICIAL_REPO_PREFIX)) == 0 &&
            !strchr(path + STRLEN(OFFICIAL_REPO_PREFIX), '/'))
                path += STRLEN(OFFICIAL_REPO_PREFIX);
        return join_name(path, r);
}

const char *image_ref_object(const struct image_ref *r)
{
        assert(r);
        return r->digest ? r->digest : r->tag;
}
