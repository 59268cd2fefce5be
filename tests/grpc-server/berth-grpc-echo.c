/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-grpc-echo: a small gRPC service on lib/grpc-server.c, for the interop test with a
 * real gRPC client (tests/integration/test_grpc_server.py, grpcio):
 *
 *   berth-grpc-echo SOCKET_PATH
 *
 * It prints "ready" once it listens, "cancel PATH CODE" whenever a call ends without its
 * handler's status, and exits 0 on SIGTERM or SIGINT. Messages are raw bytes. Methods of
 * berth.echo.v1.Echo:
 *   Unary          answers the request
 *   Metadata       answers the value of the request header named by the request ("-": none)
 *   Status         "CODE message": finishes with that status (CODE as in rpc_code_to_string)
 *   Sleep          never answers (deadlines, cancellation)
 *   ServerStream   "N SIZE": N messages of SIZE bytes, each starting with its number
 *   ClientStream   answers "COUNT BYTES" of the messages received
 *   Bidi           answers each message at once, OK at the client's end
 * and containerd.services.version.v1.Version/Version, so that containerd's own client (ctr
 * version, grpc-go) can be pointed at it: VersionResponse {1 version, 2 revision}.
 */
#include <inttypes.h>
#include <signal.h>
#include <sys/signalfd.h>

#include "lib/fs.h"
#include "lib/grpc.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"

#define SVC(m) "/berth.echo.v1.Echo/" m

static int m_unary(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        (void) userdata;
        (void) err;
        return grpc_call_reply(call, msg, len);
}

static int m_metadata(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_free_ char *key = xstrndup((const char *) msg, len);
        const char *v = grpc_call_metadata(call, key);

        (void) userdata;
        (void) err;
        if (!v)
                v = "-";
        return grpc_call_reply(call, (const uint8_t *) v, strlen(v));
}

static int m_status(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_free_ char *s = xstrndup((const char *) msg, len);
        char *message = strchr(s, ' ');
        int code;

        (void) userdata;
        if (message)
                *message++ = 0;
        code = rpc_code_from_string(s);
        if (code < 0)
                return errmsg_set(err, -EINVAL, "unknown status code \"%s\"", s);
        return grpc_call_finish(call, (enum rpc_code) code, message);
}

static void on_cancel(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        (void) userdata;
        printf("cancel %s %s\n", grpc_call_path(call), rpc_code_to_string(code));
        (void) fflush(stdout);
        (void) grpc_call_unref(call);
}

static int m_sleep(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        (void) msg;
        (void) len;
        (void) userdata;
        (void) err;
        grpc_call_set_userdata(grpc_call_ref(call), NULL, on_cancel, NULL);
        return 0;
}

struct stream_state {
        uint64_t next;
        uint64_t count;
        uint64_t size;
};

static void stream_end(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        if (code != RPC_OK)
                on_cancel(grpc_call_ref(call), code, NULL);
        free(userdata);
        (void) grpc_call_unref(call);
}

/* Sends until done or the queue is full; called again when there is room. */
static void stream_pump(struct grpc_call *call, void *userdata)
{
        struct stream_state *st = userdata;
        _cleanup_free_ char *buf = xcalloc(1, st->size + 32);

        while (st->next < st->count) {
                int n = snprintf(buf, st->size + 32, "%" PRIu64 " ", st->next);
                int r = grpc_call_send(call, (const uint8_t *) buf, MAX(st->size, (uint64_t) n));

                if (r == -ENOBUFS)
                        return;
                if (r < 0) {
                        (void) grpc_call_finish(call, rpc_code_from_errno(r), strerror(-r));
                        break;
                }
                st->next++;
        }
        if (st->next == st->count)
                (void) grpc_call_finish(call, RPC_OK, NULL);
        stream_end(call, RPC_OK, st);
}

static int m_server_stream(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                           struct errmsg *err)
{
        _cleanup_free_ char *s = xstrndup((const char *) msg, len);
        struct stream_state *st = xnew0(struct stream_state, 1);
        char *sp = strchr(s, ' ');

        (void) userdata;
        if (sp)
                *sp++ = 0;
        if (!sp || parse_uint64(s, &st->count) < 0 || parse_uint64(sp, &st->size) < 0 ||
            st->size > GRPC_MAX_MESSAGE) {
                free(st);
                return errmsg_set(err, -EINVAL, "want \"COUNT SIZE\", got \"%.*s\"", (int) len,
                                  (const char *) msg);
        }
        grpc_call_set_userdata(grpc_call_ref(call), st, stream_end, stream_pump);
        stream_pump(call, st);
        return 0;
}

static int m_client_stream(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                           struct errmsg *err)
{
        uint64_t *sum = grpc_call_get_userdata(call);
        _cleanup_free_ char *s = NULL;

        (void) userdata;
        (void) err;
        if (!sum) {
                sum = xnew0(uint64_t, 2);
                grpc_call_set_userdata(grpc_call_ref(call), sum, stream_end, NULL);
        }
        if (msg) {
                sum[0]++;
                sum[1] += len;
                return 0;
        }
        s = xasprintf("%" PRIu64 " %" PRIu64, sum[0], sum[1]);
        (void) grpc_call_reply(call, (const uint8_t *) s, strlen(s));
        stream_end(call, RPC_OK, sum);
        return 0;
}

static int m_bidi(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        (void) userdata;
        (void) err;
        if (!msg)
                return grpc_call_finish(call, RPC_OK, NULL);
        return grpc_call_send(call, msg, len);
}

static int m_version(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        /* protobuf by hand: field 1 "0.0.0-echo", field 2 "echo" */
        static const char answer[] = "\x0a\x0a"
                                     "0.0.0-echo"
                                     "\x12\x04"
                                     "echo";

        (void) msg;
        (void) len;
        (void) userdata;
        (void) err;
        return grpc_call_reply(call, (const uint8_t *) answer, sizeof(answer) - 1);
}

static const struct grpc_method methods[] = {
        {SVC("Unary"), GRPC_UNARY, m_unary},
        {SVC("Metadata"), GRPC_UNARY, m_metadata},
        {SVC("Status"), GRPC_UNARY, m_status},
        {SVC("Sleep"), GRPC_UNARY, m_sleep},
        {SVC("ServerStream"), GRPC_SERVER_STREAMING, m_server_stream},
        {SVC("ClientStream"), GRPC_CLIENT_STREAMING, m_client_stream},
        {SVC("Bidi"), GRPC_BIDI_STREAMING, m_bidi},
        {"/containerd.services.version.v1.Version/Version", GRPC_UNARY, m_version},
        {NULL, 0, NULL},
};

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct signalfd_siginfo si;

        (void) events;
        (void) userdata;
        (void) !read(fd, &si, sizeof(si));
        evloop_exit(loop, 0);
}

static int serve(const char *path)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(grpc_server_freep) struct grpc_server *server = NULL;
        _cleanup_close_ int sfd = -EBADF;
        struct errmsg err = {0};
        sigset_t mask;
        int fd = -EBADF, r;

        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "block signals");
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return log_error_errno(-errno, "signalfd");
        r = ttrpc_listen_unix(path, &fd, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.msg);
        r = evloop_new(&loop);
        if (r < 0)
                return log_error_errno(r, "event loop");
        r = grpc_server_new(loop, fd, methods, NULL, NULL, &server);
        if (r < 0)
                return log_error_errno(r, "grpc server on %s", path);
        r = evloop_add(loop, sfd, EPOLLIN, on_signal, NULL);
        if (r < 0)
                return log_error_errno(r, "watch signals");
        printf("ready\n");
        (void) fflush(stdout);
        r = evloop_run(loop);
        server = grpc_server_free(server);
        (void) evloop_remove(loop, sfd);
        return r;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fputs("usage: berth-grpc-echo SOCKET_PATH\n", stderr);
                return 2;
        }
        if (getenv("BERTH_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        return serve(argv[1]) < 0 ? 1 : 0;
}
