/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process user of a spec from the image's /etc/passwd and /etc/group, as containerd 1.6's
 * oci.WithUser, WithUserID, WithUsername and WithAdditionalGIDs resolve it (the files are
 * parsed as moby/sys/user does: colon-separated fields, numbers that do not parse are 0).
 */
#include <stdlib.h>

#include "ctr/spec.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

struct entry {
        char *name;
        long id;     /* uid or gid */
        long gid;    /* passwd: the primary group */
        char **list; /* group: its members */
};

static void entry_release(struct entry *e)
{
        free(e->name);
        strv_free(e->list);
        *e = (struct entry){0};
}

/* Go's strconv.Atoi: the whole string, an optional sign. */
static bool parse_int(const char *s, long *ret)
{
        char *end;
        long v;

        if (!*s || *s == ' ')
                return false;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

static char *field(const char *line, size_t n, size_t index)
{
        const char *p = line, *end = line + n;

        for (size_t i = 0; i < index; i++) {
                p = memchr(p, ':', (size_t) (end - p));
                if (!p)
                        return NULL;
                p++;
        }
        {
                const char *colon = memchr(p, ':', (size_t) (end - p));

                return xstrndup(p, (size_t) ((colon ? colon : end) - p));
        }
}

static void parse_entry(const char *line, size_t n, bool is_group, struct entry *e)
{
        _cleanup_free_ char *id = field(line, n, 2), *third = field(line, n, 3);

        e->name = field(line, n, 0) ?: xstrdup("");
        if (!id || !parse_int(id, &e->id))
                e->id = 0;
        if (is_group) {
                char *p = third;

                while (p) {
                        char *comma = strchr(p, ',');

                        if (comma)
                                *comma = '\0';
                        strv_push(&e->list, p);
                        p = comma ? comma + 1 : NULL;
                }
        } else if (!third || !parse_int(third, &e->gid))
                e->gid = 0;
}

typedef bool (*entry_filter)(const struct entry *e, const void *userdata);

/* The first entry of text that filter accepts: 1, or 0 when none does. */
static int find_entry(const char *text, bool is_group, entry_filter filter, const void *userdata,
                      struct entry *ret)
{
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);
                struct entry e = {0};

                while (n > 0 && (*line == ' ' || *line == '\t'))
                        line++, n--;
                while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
                        n--;
                if (n > 0) {
                        parse_entry(line, n, is_group, &e);
                        if (filter(&e, userdata)) {
                                *ret = e;
                                return 1;
                        }
                        entry_release(&e);
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

static bool by_name(const struct entry *e, const void *name)
{
        return STREQ(e->name, (const char *) name);
}

static bool by_id(const struct entry *e, const void *id)
{
        return e->id == *(const long *) id;
}

static json_t *user_of(json_t *spec)
{
        json_t *process = json_object_get(spec, "process"), *user;

        if (!process) {
                process = json_object();
                json_object_set_new(spec, "process", process);
        }
        user = json_object_get(process, "user");
        if (!user) {
                user = json_pack("{s:i, s:i}", "uid", 0, "gid", 0);
                json_object_set_new(process, "user", user);
        }
        return user;
}

static void set_ids(json_t *spec, long uid, long gid)
{
        json_t *user = user_of(spec);

        json_object_set_new(user, "uid", json_integer((uint32_t) uid));
        json_object_set_new(user, "gid", json_integer((uint32_t) gid));
        json_object_del(user, "additionalGids");
}

/* ensureAdditionalGids: the primary gid is in additionalGids, first if it was missing. */
static void ensure_additional_gids(json_t *spec)
{
        json_t *user = user_of(spec), *gids = json_object_get(user, "additionalGids"), *g;
        json_int_t gid = json_integer_value(json_object_get(user, "gid"));
        size_t i;

        if (!gids) {
                gids = json_array();
                json_object_set_new(user, "additionalGids", gids);
        }
        json_array_foreach (gids, i, g)
                if (json_integer_value(g) == gid)
                        return;
        json_array_insert_new(gids, 0, json_integer(gid));
}

static int lookup_user(const struct spec_rootfs *fs, entry_filter filter, const void *key,
                       struct entry *ret, struct errmsg *err)
{
        if (!fs || !fs->passwd)
                return errmsg_set(err, -ENOENT, "open /etc/passwd: no such file or directory");
        if (find_entry(fs->passwd, false, filter, key, ret) == 0)
                return errmsg_set(err, -ENOENT, "no users found");
        return 0;
}

/* "user:group" with at least one name. */
static int with_user_and_group(json_t *spec, const char *user, const char *group,
                               const struct spec_rootfs *fs, struct errmsg *err)
{
        long uid = 0, gid = 0;
        bool is_uid = parse_int(user, &uid), is_gid = parse_int(group, &gid);
        struct entry e = {0};
        int r;

        if (!is_uid) {
                r = lookup_user(fs, by_name, user, &e, err);
                if (r < 0)
                        return r;
                uid = e.id;
                entry_release(&e);
        }
        if (!is_gid) {
                if (!fs || !fs->group)
                        return errmsg_set(err, -ENOENT,
                                          "open /etc/group: no such file or directory");
                if (find_entry(fs->group, true, by_name, group, &e) == 0)
                        return errmsg_set(err, -ENOENT, "no groups found");
                gid = e.id;
                entry_release(&e);
        }
        set_ids(spec, uid, gid);
        return 0;
}

int spec_with_user(json_t *spec, const char *user, const struct spec_rootfs *fs, struct errmsg *err)
{
        const char *colon = strchr(user, ':');
        struct entry e = {0};
        long id;
        int r = 0;

        if (colon && strchr(colon + 1, ':'))
                return errmsg_set(err, -EINVAL, "invalid USER value %s", user);
        if (colon) {
                _cleanup_free_ char *name = xstrndup(user, (size_t) (colon - user));

                if (parse_int(name, &id) && parse_int(colon + 1, &(long){0}))
                        set_ids(spec, id, strtol(colon + 1, NULL, 10));
                else
                        r = with_user_and_group(spec, name, colon + 1, fs, err);
        } else if (parse_int(user, &id)) {
                /* WithUserID: a uid the image does not know gets gid 0 */
                if (fs && fs->passwd && find_entry(fs->passwd, false, by_id, &id, &e) > 0)
                        set_ids(spec, e.id, e.gid);
                else
                        set_ids(spec, id, 0);
        } else {
                r = lookup_user(fs, by_name, user, &e, err);
                if (r >= 0)
                        set_ids(spec, e.id, e.gid);
        }
        entry_release(&e);
        if (r < 0)
                return r;
        ensure_additional_gids(spec);
        return 0;
}

/* The groups of fs's /etc/group that list name, but not its own-named group. */
static json_t *supplementary_gids(const char *name, const struct spec_rootfs *fs)
{
        json_t *gids = json_array();

        for (const char *line = fs ? fs->group : NULL; line && *line;) {
                const char *nl = strchr(line, '\n');
                struct entry g = {0};

                parse_entry(line, nl ? (size_t) (nl - line) : strlen(line), true, &g);
                if (!STREQ(g.name, name))
                        strv_foreach (m, g.list)
                                if (STREQ(*m, name)) {
                                        json_array_append_new(gids, json_integer(g.id));
                                        break;
                                }
                entry_release(&g);
                line = nl ? nl + 1 : NULL;
        }
        return gids;
}

void spec_with_additional_gids(json_t *spec, const char *user, const struct spec_rootfs *fs)
{
        struct entry e = {0};
        json_t *gids;
        long uid;

        json_object_del(user_of(spec), "additionalGids");
        if (!parse_int(user, &uid))
                e.name = xstrdup(user);
        else if (!fs || !fs->passwd || find_entry(fs->passwd, false, by_id, &uid, &e) == 0)
                e.name = NULL; /* an unknown uid: no supplementary groups */
        if (e.name) {
                gids = supplementary_gids(e.name, fs);
                if (json_array_size(gids) > 0)
                        json_object_set(user_of(spec), "additionalGids", gids);
                json_decref(gids);
        }
        entry_release(&e);
        ensure_additional_gids(spec);
}
