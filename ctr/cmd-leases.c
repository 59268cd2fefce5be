/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr leases: ls, create, rm, as ctr's; and the lease that pull, import and tag hold
 * while they write (ctr's client.WithLease()).
 */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "containerd/services/leases/v1/leases.pb-c.h"
#include "ctr/commands.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define LEASES_SERVICE   "/containerd.services.leases.v1.Leases/"
#define LABEL_GC_EXPIRE  "containerd.io/gc.expire"
#define DEFAULT_EXPIRE_S (24 * 3600)

typedef Containerd__Services__Leases__V1__Lease lease_msg;

char *ctr_unique_part(void)
{
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        uint8_t b[3] = {0};
        struct timespec now;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        if (getrandom(b, sizeof(b), GRND_NONBLOCK) < 0)
                memcpy(b, &now.tv_nsec, sizeof(b)); /* uniqueness comes from the time anyway */
        /* Go's fmt.Sprintf("%d-%s", t.Nanosecond(), base64.URLEncoding(3 bytes)) */
        return xasprintf("%ld-%c%c%c%c", now.tv_nsec, b64[b[0] >> 2],
                         b64[((b[0] & 3) << 4) | (b[1] >> 4)],
                         b64[((b[1] & 15) << 2) | (b[2] >> 6)], b64[b[2] & 63]);
}

/* t as Go's time.Format(time.RFC3339) in the local zone: "2026-11-29T02:22:51Z" or
 * "2026-11-29T03:22:51+01:00". */
static void format_rfc3339(time_t t, char *buf, size_t n)
{
        struct tm tm;
        size_t len;
        long off;

        (void) localtime_r(&t, &tm);
        len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff;
        if (off == 0)
                (void) snprintf(buf + len, n - len, "Z");
        else
                (void) snprintf(buf + len, n - len, "%c%02ld:%02ld", off < 0 ? '-' : '+',
                                labs(off) / 3600, labs(off) % 3600 / 60);
}

static int lease_create(struct ctr *c, const char *id, char *const *labels, char **ret_id,
                        struct errmsg *err)
{
        Containerd__Services__Leases__V1__CreateRequest req =
                CONTAINERD__SERVICES__LEASES__V1__CREATE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Leases__V1__CreateResponse *resp = NULL;
        int r;

        req.id = (char *) id;
        req.labels = (Containerd__Services__Leases__V1__CreateRequest__LabelsEntry **) ctr_map_new(
                &containerd__services__leases__v1__create_request__labels_entry__descriptor, labels,
                &req.n_labels);
        r = ctr_call(c, LEASES_SERVICE "Create", &req.base,
                     &containerd__services__leases__v1__create_response__descriptor, &resp, err);
        ctr_map_free((void **) req.labels, req.n_labels);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = xstrdup(resp->lease && resp->lease->id ? resp->lease->id : id);
        return 0;
}

static int lease_delete(struct ctr *c, const char *id, bool sync, struct errmsg *err)
{
        Containerd__Services__Leases__V1__DeleteRequest req =
                CONTAINERD__SERVICES__LEASES__V1__DELETE_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        req.id = (char *) id;
        req.sync = sync;
        return ctr_call(c, LEASES_SERVICE "Delete", &req.base, &google__protobuf__empty__descriptor,
                        &resp, err);
}

/* The labels of a lease expiring in seconds (strv, the caller's; NULL for 0). */
static char **expire_labels(long seconds)
{
        char expire[64];
        char **labels = NULL;

        if (seconds <= 0)
                return NULL;
        format_rfc3339(time(NULL) + seconds, expire, sizeof(expire));
        strv_push(&labels, LABEL_GC_EXPIRE);
        strv_push(&labels, expire);
        return labels;
}

int ctr_lease_begin(struct ctr *c, struct errmsg *err)
{
        _cleanup_strv_ char **labels = expire_labels(DEFAULT_EXPIRE_S);
        _cleanup_free_ char *id = NULL;

        if (c->lease)
                return 0;
        id = ctr_unique_part();
        return lease_create(c, id, labels, &c->lease, err);
}

void ctr_lease_end(struct ctr *c)
{
        _cleanup_free_ char *id = TAKE_PTR(c->lease);
        struct errmsg err = {0};

        /* the call itself goes without the lease */
        if (id && lease_delete(c, id, false, &err) < 0)
                log_debug("delete lease %s: %s", id, err.msg);
}

/* --- ctr leases ----------------------------------------------------------------------- */

static int leases_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Leases__V1__ListRequest req =
                CONTAINERD__SERVICES__LEASES__V1__LIST_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Leases__V1__ListResponse *resp = NULL;
        bool quiet = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = (size_t) (argc - index);
        r = ctr_call(c, LEASES_SERVICE "List", &req.base,
                     &containerd__services__leases__v1__list_response__descriptor, &resp, err);
        if (r < 0)
                return errmsg_prefix(err, r, "failed to list leases");
        if (quiet) {
                for (size_t i = 0; i < resp->n_leases; i++)
                        printf("%s\n", resp->leases[i]->id);
                return 0;
        }
        t = table_new(stdout, 1, 1);
        table_printf(t, "ID\tCREATED AT\tLABELS\t\n");
        for (size_t i = 0; i < resp->n_leases; i++) {
                const lease_msg *l = resp->leases[i];
                _cleanup_free_ char *labels = labels_string((void *const *) l->labels, l->n_labels);
                char created[64];

                format_rfc3339(l->created_at ? (time_t) l->created_at->seconds : 0, created,
                               sizeof(created));
                table_printf(t, "%s\t%s\t%s\t\n", l->id, created, labels);
        }
        table_flush(t);
        return 0;
}

/* A Go duration ("24h", "1h30m", "90s", "0") in seconds; -EINVAL when it is not one. */
static int parse_duration(const char *s, long *ret)
{
        static const struct {
                const char *unit;
                double seconds;
        } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3},
                     {"s", 1},     {"m", 60},    {"h", 3600}};
        double total = 0;
        bool negative = s[0] == '-';

        s += negative || s[0] == '+';
        if (STREQ(s, "0"))
                return *ret = 0;
        if (!*s)
                return -EINVAL;
        while (*s) {
                char *end;
                double v = strtod(s, &end);
                size_t i;

                if (end == s || *s == '-' || *s == '+')
                        return -EINVAL;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0 &&
                            !(STREQ(units[i].unit, "m") && end[1] == 's'))
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                total += v * units[i].seconds;
                s = end + strlen(units[i].unit);
        }
        *ret = (long) (negative ? -total : total);
        return 0;
}

/* Labels from "k=v" operands (a label without '=' is empty), as ctr leases create. */
static char **operand_labels(int argc, char **argv)
{
        char **labels = NULL;

        for (int i = 0; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                _cleanup_free_ char *key =
                        xstrndup(argv[i], eq ? (size_t) (eq - argv[i]) : strlen(argv[i]));

                strv_push(&labels, key);
                strv_push(&labels, eq ? eq + 1 : "");
        }
        return labels;
}

static int leases_create(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        const char *id = NULL, *expires = NULL;
        _cleanup_strv_ char **labels = NULL, **expire = NULL;
        _cleanup_free_ char *generated = NULL, *created = NULL;
        long seconds = DEFAULT_EXPIRE_S;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"id", 0, CTR_FLAG_STRING, &id},
                                                      {"expires", 'x', CTR_FLAG_STRING, &expires},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        if (expires && parse_duration(expires, &seconds) < 0)
                return errmsg_set(err, -EINVAL,
                                  "invalid value \"%s\" for flag -expires: parse error", expires);
        labels = operand_labels(argc - index, argv + index);
        expire = expire_labels(seconds);
        strv_foreach (l, expire)
                strv_push(&labels, *l);
        if (!id || !*id)
                id = generated = ctr_unique_part();
        r = lease_create(c, id, labels, &created, err);
        if (r < 0)
                return r;
        printf("%s\n", created);
        return 0;
}

static int leases_delete(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        bool sync = false;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"sync", 0, CTR_FLAG_BOOL, &sync}, {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        if (index == argc) {
                /* as ctr: the command's help, and no error */
                printf("NAME:\n   ctr leases delete - delete a lease\n\nUSAGE:\n   ctr leases "
                       "delete [command options] [flags] <lease id> ...\n");
                return 0;
        }
        for (int i = index; i < argc; i++) {
                /* --sync waits for the collection once, with the last lease */
                r = lease_delete(c, argv[i], sync && i == argc - 1, err);
                if (r < 0)
                        return r;
                printf("%s\n", argv[i]);
        }
        return 0;
}

const struct ctr_command cmd_leases[] = {
        {{"list", "ls"}, "list all active leases", leases_list, NULL},
        {{"create"}, "create lease", leases_create, NULL},
        {{"delete", "del", "remove", "rm"}, "delete a lease", leases_delete, NULL},
        {{NULL}},
};
