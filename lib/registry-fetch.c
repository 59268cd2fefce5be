/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Concurrent blob downloads (registry_fetch_blobs(), see registry.h): one job per blob on a
 * curl multi handle, run in the calling thread, at most opts.max_parallel transfers at a time.
 * A job tries the mirrors, then the registry; answers a 401 and starts again; retries 429/5xx
 * and resumes a broken transfer with "Range: bytes=N-" (within opts.max_retries); the first
 * failure cancels the rest. As containerd 1.6's remotes/docker does, a Range answered with 200
 * means the first bytes are skipped, and one answered with 206 must start where asked.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <time.h>

#include "lib/log.h"
#include "lib/registry-internal.h"
#include "lib/xalloc.h"

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

enum job_state {
        JOB_PENDING,
        JOB_RUNNING,
        JOB_DONE,
};

struct fetch_ctx;

struct blob_job {
        struct fetch_ctx *ctx;
        struct registry_blob_fetch *f;
        size_t index;
        enum job_state state;
        size_t endpoint;
        unsigned retries, rounds;
        uint64_t not_before_ms;
        uint64_t start; /* f->done when the request went out: the Range asked for */
        uint64_t skip;  /* bytes to drop: the server ignored the Range */
        bool range_checked;
        char *url;
        char *used; /* the Authorization value sent */
        struct registry_request q;
        struct registry_xfer x;
};

struct fetch_ctx {
        struct registry_client *c;
        const struct image_ref *ref;
        struct registry_endpoint *eps;
        size_t n_eps;
        char *scope;
        CURLM *multi;
        struct blob_job *jobs;
        size_t n, n_running, n_done;
        ssize_t first_failed;
        registry_progress_fn progress;
        void *progress_userdata;
};

static void job_release_xfer(struct blob_job *j)
{
        if (j->state == JOB_RUNNING) {
                (void) curl_multi_remove_handle(j->ctx->multi, j->x.easy);
                j->ctx->n_running--;
        }
        registry_xfer_release(&j->x);
        free(j->used);
        j->used = NULL;
}

static void job_succeed(struct blob_job *j)
{
        job_release_xfer(j);
        j->state = JOB_DONE;
        j->f->result = 0;
        j->ctx->n_done++;
}

/* Stops every other job with -ECANCELED once j has failed. */
static void jobs_cancel(struct fetch_ctx *ctx, const struct blob_job *failed)
{
        for (size_t i = 0; i < ctx->n; i++) {
                struct blob_job *j = &ctx->jobs[i];

                if (j->state == JOB_DONE)
                        continue;
                job_release_xfer(j);
                j->state = JOB_DONE;
                j->f->result =
                        errmsg_set(&j->f->err, -ECANCELED, "blob %s: canceled: blob %s failed",
                                   j->f->digest, failed->f->digest);
                ctx->n_done++;
        }
}

/* j failed with r and j->f->err set. */
static void job_fail(struct blob_job *j, int r)
{
        struct fetch_ctx *ctx = j->ctx;

        job_release_xfer(j);
        j->state = JOB_DONE;
        j->f->result = r;
        j->f->err.code = r;
        ctx->n_done++;
        if (ctx->first_failed < 0)
                ctx->first_failed = (ssize_t) j->index;
        jobs_cancel(ctx, j);
}

static void job_requeue(struct blob_job *j, uint64_t delay_ms)
{
        job_release_xfer(j);
        j->state = JOB_PENDING;
        j->not_before_ms = now_ms() + delay_ms;
}

/* The next endpoint, or failure with r when j was on the last one. */
static void job_next_endpoint(struct blob_job *j, int r)
{
        if (j->endpoint + 1 >= j->ctx->n_eps)
                return job_fail(j, r);
        log_debug("blob %s: %s, trying the next endpoint", j->f->digest, j->f->err.msg);
        j->endpoint++;
        j->retries = 0;
        j->rounds = 0;
        job_requeue(j, 0);
}

/* A transfer that broke: resumed from what was delivered while the retries last. */
static void job_broken(struct blob_job *j, int r)
{
        struct errmsg *err = &j->f->err;

        if (j->retries < registry_client_max_retries(j->ctx->c)) {
                j->retries++;
                log_debug("blob %s: %s, retry %u from byte %" PRIu64, j->f->digest, err->msg,
                          j->retries, j->f->done);
                return job_requeue(j, registry_backoff_ms(j->retries - 1));
        }
        (void) errmsg_prefix(err, r, "blob %s: gave up after %u retries", j->f->digest, j->retries);
        job_next_endpoint(j, r);
}

/* At the first bytes: a Range must have been honoured from where it was asked, or ignored. */
static int job_check_range(struct blob_job *j)
{
        const char *cr = j->x.resp.content_range;
        _cleanup_free_ char *want = NULL;

        j->range_checked = true;
        if (j->start == 0)
                return 0;
        if (j->x.resp.status == 200) {
                j->skip = j->start;
                return 0;
        }
        want = xasprintf("bytes %" PRIu64 "-", j->start);
        if (!cr || strncmp(cr, want, strlen(want)) != 0)
                return errmsg_set(&j->f->err, -EPROTO,
                                  "GET %s: Content-Range \"%s\" for Range bytes=%" PRIu64 "-",
                                  j->url, cr ? cr : "", j->start);
        return 0;
}

static int job_deliver(void *userdata, const void *buf, size_t len)
{
        struct blob_job *j = userdata;
        struct registry_blob_fetch *f = j->f;
        size_t n;
        int r;

        if (!j->range_checked) {
                r = job_check_range(j);
                if (r < 0)
                        return r;
        }
        n = (size_t) MIN((uint64_t) len, j->skip);
        j->skip -= n;
        buf = (const char *) buf + n;
        len -= n;
        if (len == 0)
                return 0;
        if (f->size > 0 && len > f->size - f->done)
                return errmsg_set(&f->err, -EFBIG,
                                  "GET %s: more than the %" PRIu64 " bytes expected", j->url,
                                  f->size);
        r = f->sink(f->userdata, buf, len);
        if (r < 0)
                return errmsg_set(&f->err, r, "GET %s: write: %s", j->url, strerror(-r));
        f->done += len;
        if (j->ctx->progress)
                j->ctx->progress(j->ctx->progress_userdata, j->index, f->done, f->size);
        return 0;
}

static void job_start(struct blob_job *j)
{
        struct fetch_ctx *ctx = j->ctx;
        const struct registry_endpoint *ep = &ctx->eps[j->endpoint];
        const char *value = NULL;
        int r;

        free(j->url);
        j->url = registry_url(ep->base, ctx->ref->path, "blobs", j->f->digest,
                              ep->is_mirror ? ctx->ref->domain : NULL);
        j->q = (struct registry_request){
                .method = "GET",
                .url = j->url,
                .scope = ctx->scope,
                .range_from = j->f->done,
                .body_fd = -EBADF,
        };
        r = registry_auth_authorize(ctx->c, ep->host, ctx->scope, &value, &j->f->err);
        if (r < 0)
                return job_next_endpoint(j, r);
        j->used = value ? xstrdup(value) : NULL;
        j->start = j->f->done;
        j->skip = 0;
        j->range_checked = false;
        registry_xfer_init(ctx->c, &j->x, &j->q, j->used);
        j->x.deliver = job_deliver;
        j->x.deliver_userdata = j;
        if (curl_multi_add_handle(ctx->multi, j->x.easy) != CURLM_OK)
                abort();
        j->state = JOB_RUNNING;
        ctx->n_running++;
}

/* A response came with a status other than 2xx. */
static void job_status(struct blob_job *j)
{
        struct registry_response *resp = &j->x.resp;
        struct errmsg *err = &j->f->err;
        int r;

        if (resp->status == 401 && j->rounds++ < REGISTRY_AUTH_ROUNDS) {
                r = registry_auth_challenged(j->ctx->c, &j->q, resp, j->used, err);
                if (r < 0)
                        return job_next_endpoint(j, r);
                return job_requeue(j, 0);
        }
        r = registry_status_error(&j->q, resp, err);
        if (registry_status_is_retryable(resp->status) &&
            j->retries < registry_client_max_retries(j->ctx->c)) {
                j->retries++;
                return job_requeue(j, registry_backoff_ms(j->retries - 1));
        }
        job_next_endpoint(j, r);
}

static void job_finished(struct blob_job *j, CURLcode rc)
{
        struct registry_blob_fetch *f = j->f;
        struct errmsg tmp = {0};
        int r;

        if (j->x.write_error < 0 && j->x.write_error != -E2BIG)
                return job_fail(j, j->x.write_error); /* f->err says why */
        r = registry_xfer_finish(&j->x, rc, &tmp);
        if (r < 0) {
                f->err = tmp;
                if (registry_errno_is_transient(r))
                        return job_broken(j, r);
                return job_next_endpoint(j, r);
        }
        if (!registry_status_is_2xx(j->x.resp.status))
                return job_status(j);
        if (f->size > 0 && f->done < f->size) {
                r = errmsg_set(&f->err, -ECONNRESET,
                               "GET %s: the transfer ended after %" PRIu64 " of %" PRIu64 " bytes",
                               j->url, f->done, f->size);
                return job_broken(j, r);
        }
        job_succeed(j);
}

static void fetch_drain(struct fetch_ctx *ctx)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(ctx->multi, &left))) {
                struct registry_xfer *x = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
                for (size_t i = 0; i < ctx->n; i++)
                        if (&ctx->jobs[i].x == x && ctx->jobs[i].state == JOB_RUNNING) {
                                job_finished(&ctx->jobs[i], msg->data.result);
                                break;
                        }
        }
}

/* Starts what may start; returns how long to wait at most (ms). */
static long fetch_schedule(struct fetch_ctx *ctx)
{
        uint64_t now = now_ms(), wake = UINT64_MAX;

        for (size_t i = 0; i < ctx->n && ctx->first_failed < 0; i++) {
                struct blob_job *j = &ctx->jobs[i];

                if (j->state != JOB_PENDING)
                        continue;
                if (j->not_before_ms > now)
                        wake = MIN(wake, j->not_before_ms);
                else if (ctx->n_running < registry_client_max_parallel(ctx->c))
                        job_start(j);
        }
        if (wake == UINT64_MAX)
                return 1000;
        return (long) MIN(wake - now, (uint64_t) 1000);
}

static int fetch_prepare(struct fetch_ctx *ctx, struct registry_blob_fetch *v)
{
        for (size_t i = 0; i < ctx->n; i++) {
                ctx->jobs[i] = (struct blob_job){.ctx = ctx, .f = &v[i], .index = i};
                v[i].result = 0;
                v[i].err = (struct errmsg){0};
                v[i].done = v[i].offset;
        }
        for (size_t i = 0; i < ctx->n; i++) {
                struct blob_job *j = &ctx->jobs[i];
                int r;

                r = digest_validate(v[i].digest ? v[i].digest : "", &v[i].err);
                if (r == -EOPNOTSUPP)
                        r = 0; /* well-formed: the registry may have it; the sink checks */
                if (r >= 0 && v[i].size > 0 && v[i].offset > v[i].size)
                        r = errmsg_set(&v[i].err, -EINVAL,
                                       "blob %s: offset %" PRIu64 " past its size %" PRIu64,
                                       v[i].digest, v[i].offset, v[i].size);
                if (r >= 0 && !v[i].sink)
                        r = errmsg_set(&v[i].err, -EINVAL, "blob %s: no sink", v[i].digest);
                if (r < 0) {
                        job_fail(j, r);
                        return r;
                }
                if (v[i].size > 0 && v[i].offset == v[i].size)
                        job_succeed(j);
        }
        return 0;
}

static void fetch_run(struct fetch_ctx *ctx)
{
        while (ctx->n_done < ctx->n) {
                long timeout = fetch_schedule(ctx);
                int running = 0;

                if (curl_multi_perform(ctx->multi, &running) != CURLM_OK)
                        abort();
                fetch_drain(ctx);
                if (ctx->n_done == ctx->n)
                        break;
                if (curl_multi_poll(ctx->multi, NULL, 0, (int) timeout, NULL) != CURLM_OK)
                        abort();
        }
}

int registry_fetch_blobs(struct registry_client *c, const struct image_ref *ref,
                         struct registry_blob_fetch *v, size_t n, registry_progress_fn progress,
                         void *progress_userdata, struct errmsg *err)
{
        struct fetch_ctx ctx = {
                .c = c,
                .ref = ref,
                .n = n,
                .first_failed = -1,
                .progress = progress,
                .progress_userdata = progress_userdata,
        };
        int r = 0;

        assert(c && ref && (v || n == 0));
        if (n == 0)
                return 0;
        ctx.jobs = xnew0(struct blob_job, n);
        ctx.multi = curl_multi_init();
        if (!ctx.multi)
                abort();
        ctx.scope = registry_scope(ref->path, "pull");
        ctx.n_eps = registry_client_endpoints(c, ref->domain, &ctx.eps);
        if (fetch_prepare(&ctx, v) >= 0)
                fetch_run(&ctx);
        for (size_t i = 0; i < n; i++) {
                job_release_xfer(&ctx.jobs[i]);
                free(ctx.jobs[i].url);
        }
        if (ctx.first_failed >= 0) {
                r = v[ctx.first_failed].result;
                if (err)
                        *err = v[ctx.first_failed].err;
        }
        (void) curl_multi_cleanup(ctx.multi);
        registry_endpoints_free(ctx.eps, ctx.n_eps);
        free(ctx.scope);
        free(ctx.jobs);
        return r;
}
