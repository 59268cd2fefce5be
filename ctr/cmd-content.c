/* SPDX-License-Identifier: Apache-2.0 */
/* berth-ctr content: ls, get, rm, label and active, as ctr's (cmd/ctr/commands/content). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "containerd/services/content/v1/content.pb-c.h"
#include "ctr/commands.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define CONTENT_SERVICE "/containerd.services.content.v1.Content/"

typedef Containerd__Services__Content__V1__Info info_msg;

/* Seconds since ts (a protobuf timestamp), for units.HumanDuration. */
static int64_t age(const Google__Protobuf__Timestamp *ts)
{
        struct timespec now;
        double d;

        if (!ts)
                return 0;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        d = (double) (now.tv_sec - ts->seconds) + (double) (now.tv_nsec - ts->nanos) / 1e9;
        return (int64_t) d;
}

static void list_row(struct table *t, const info_msg *info)
{
        _cleanup_free_ char *labels = labels_string((void *const *) info->labels, info->n_labels);
        char size[32], when[64];

        human_size((double) info->size, size, sizeof(size));
        human_duration(age(info->created_at), when, sizeof(when));
        table_printf(t, "%s\t%s\t%s\t%s\n", info->digest, size, when, labels);
}

static int content_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Content__V1__ListContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__LIST_CONTENT_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        struct table *t = NULL;
        bool quiet = false;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = (size_t) (argc - index);
        r = ctr_stream_open(c, CONTENT_SERVICE "List", &st, err);
        if (r >= 0)
                r = ctr_stream_send(st, &req.base, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        if (r >= 0 && !quiet) {
                t = table_new_padchar(stdout, 1, 8, 1, '\t');
                table_printf(t, "DIGEST\tSIZE\tAGE\tLABELS\n");
        }
        while (r >= 0) {
                _cleanup_pb_ Containerd__Services__Content__V1__ListContentResponse *resp = NULL;

                r = ctr_stream_recv(
                        st, &containerd__services__content__v1__list_content_response__descriptor,
                        &resp, err);
                if (r <= 0)
                        break;
                for (size_t i = 0; i < resp->n_info; i++) {
                        if (quiet)
                                printf("%s\n", resp->info[i]->digest);
                        else
                                list_row(t, resp->info[i]);
                }
        }
        if (t)
                table_flush(t); /* as ctr's deferred Flush: what was listed shows */
        return r < 0 ? r : 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len, struct errmsg *err)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errmsg_set(err, -errno, "write /dev/stdout: %s", strerror(errno));
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Content.Read of digest, streamed to stdout. */
static int read_to_stdout(struct ctr *c, const char *digest, struct errmsg *err)
{
        Containerd__Services__Content__V1__ReadContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        int r;

        req.digest = (char *) digest;
        r = ctr_stream_open(c, CONTENT_SERVICE "Read", &st, err);
        if (r >= 0)
                r = ctr_stream_send(st, &req.base, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        fflush(stdout);
        while (r >= 0) {
                _cleanup_pb_ Containerd__Services__Content__V1__ReadContentResponse *resp = NULL;

                r = ctr_stream_recv(
                        st, &containerd__services__content__v1__read_content_response__descriptor,
                        &resp, err);
                if (r <= 0)
                        break;
                r = write_all(STDOUT_FILENO, resp->data.data, resp->data.len, err);
        }
        return r < 0 ? r : 0;
}

static int content_get(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        const char *digest;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        digest = index < argc ? argv[index] : "";
        r = ctr_digest_validate(digest, err);
        if (r < 0)
                return r;
        /* as the client's ReaderAt: Info first, for the size (and a missing blob's error) */
        r = ctr_content_info(c, digest, NULL, NULL, err);
        if (r < 0)
                return r;
        return read_to_stdout(c, digest, err);
}

static int content_delete(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        int r, index, failed = 0;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        for (int i = index; i < argc; i++) {
                Containerd__Services__Content__V1__DeleteContentRequest req =
                        CONTAINERD__SERVICES__CONTENT__V1__DELETE_CONTENT_REQUEST__INIT;
                _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
                struct errmsg e = {0};

                r = ctr_digest_validate(argv[i], &e);
                if (r >= 0) {
                        req.digest = argv[i];
                        r = ctr_call(c, CONTENT_SERVICE "Delete", &req.base,
                                     &google__protobuf__empty__descriptor, &resp, &e);
                        if (r == -ENOENT) /* as ctr: nothing to delete, nothing printed */
                                continue;
                }
                if (r < 0) {
                        if (failed++ == 0)
                                errmsg_set(err, r, "%s", e.msg);
                        log_error("could not delete %s: %s", argv[i], e.msg);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return failed ? err->code : 0;
}

static int content_label(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_strv_ char **labels = NULL, **now = NULL;
        _cleanup_free_ char *out = NULL;
        const char *digest;
        size_t len = 1, at = 0;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        ctr_object_with_labels(argc - index, argv + index, &digest, &labels);
        r = ctr_digest_validate(digest, err);
        if (r >= 0 && labels)
                r = ctr_content_label(c, digest, labels, err);
        if (r >= 0)
                r = ctr_content_info(c, digest, NULL, &now, err);
        if (r < 0)
                return r;
        for (size_t i = 0; now && now[i]; i++)
                len += strlen(now[i]) + 1;
        out = xnew0(char, len);
        for (size_t i = 0; now && now[i]; i += 2)
                at += (size_t) snprintf(out + at, len - at, "%s%s=%s", i ? "," : "", now[i],
                                        now[i + 1]);
        printf("%s\n", out);
        return 0;
}

static int content_active(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Content__V1__ListStatusesRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__LIST_STATUSES_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Content__V1__ListStatusesResponse *resp = NULL;
        const char *timeout = NULL, *root = NULL;
        struct table *t;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"timeout", 't', CTR_FLAG_STRING, &timeout},
                                                      {"root", 0, CTR_FLAG_STRING, &root},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = index < argc ? 1 : 0;
        r = ctr_call(c, CONTENT_SERVICE "ListStatuses", &req.base,
                     &containerd__services__content__v1__list_statuses_response__descriptor, &resp,
                     err);
        if (r < 0)
                return r;
        t = table_new_padchar(stdout, 1, 8, 1, '\t');
        table_printf(t, "REF\tSIZE\tAGE\t\n");
        for (size_t i = 0; i < resp->n_statuses; i++) {
                const Containerd__Services__Content__V1__Status *s = resp->statuses[i];
                char size[32], when[64];

                human_size((double) s->offset, size, sizeof(size));
                human_duration(age(s->started_at), when, sizeof(when));
                table_printf(t, "%s\t%s\t%s\t\n", s->ref, size, when);
        }
        table_flush(t);
        return 0;
}

const struct ctr_command cmd_content[] = {
        {{"active"}, "display active transfers", content_active, NULL},
        {{"delete", "del", "remove", "rm"},
         "permanently delete one or more blobs",
         content_delete,
         NULL},
        {{"get"}, "get the data for an object", content_get, NULL},
        {{"list", "ls"}, "list all blobs in the store", content_list, NULL},
        {{"label"}, "add labels to content", content_label, NULL},
        {{NULL}},
};
