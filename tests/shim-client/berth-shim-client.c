/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-shim-client: calls one method of a shim's containerd.task.v2.Task service over ttrpc,
 * as containerd would, for the integration tests (tests/integration/test_shim.py):
 *
 *   berth-shim-client [-t TIMEOUT_MS] ADDRESS NAMESPACE METHOD ARGS...
 *
 * Every call carries "containerd-namespace-ttrpc: NAMESPACE". The answer is printed as plain
 * words on stdout (see usage()). An error status is printed on stderr as "METHOD: CODE:
 * message" and exits 1, as does any other failure; a usage error exits 2. CODE comes back
 * through lib's errno table (rpc-status.h), so only its codes are exact: UNKNOWN, ABORTED,
 * RESOURCE_EXHAUSTED and the other codes outside it print as INTERNAL. "raw SERVICE METHOD"
 * sends an empty request to any method (UNIMPLEMENTED answers).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/runc/options/oci.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "containerd/types/task.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/fs.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"

#define TASK_SERVICE       "containerd.task.v2.Task"
#define PROCESS_SPEC_TYPE  "types.containerd.io/opencontainers/runtime-spec/1/Process"
#define DEFAULT_TIMEOUT_MS 30000
#define SPEC_MAX_BYTES     (1u << 20)
#define EXIT_USAGE         2

struct client {
        struct ttrpc_client *conn;
        struct ttrpc_metadata md;
        int timeout_ms;
};

static void pb_freep(void *p)
{
        ProtobufCMessage **m = p;

        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}

static void usage(FILE *f)
{
        fputs("usage: berth-shim-client [-t TIMEOUT_MS] ADDRESS NAMESPACE METHOD ARGS...\n"
              "  create ID BUNDLE STDIN STDOUT STDERR [terminal] [binary=PATH] [root=DIR]\n"
              "                         prints the pid (binary/root: containerd.runc.v1.Options)\n"
              "  start ID [EXECID]                                 prints the pid\n"
              "  wait ID [EXECID]                                  prints the exit status\n"
              "  state ID [EXECID]                        prints \"STATUS pid exit_status\"\n"
              "  kill ID SIGNAL [all] [EXECID]\n"
              "  exec ID EXECID PROCESS_JSON_FILE STDIN STDOUT STDERR [terminal]\n"
              "  pids ID                                           prints one pid a line\n"
              "  pause ID | resume ID\n"
              "  delete ID [EXECID]                                prints the exit status\n"
              "  connect ID                                 prints \"shim_pid task_pid\"\n"
              "  shutdown ID [now]\n"
              "  raw SERVICE METHOD                 an empty request; prints the answer size\n",
              f);
}

/*
 * Calls method with in (NULL: an empty payload); on success unpacks the answer as out_desc
 * into *ret (when out_desc is given). Errors are printed; returns 0 or an exit status.
 */
static int call(struct client *c, const char *service, const char *method,
                const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc, void *ret)
{
        _cleanup_free_ uint8_t *req = NULL, *resp = NULL;
        struct errmsg err = {0};
        size_t len = 0, resp_len = 0;
        int r;

        if (in) {
                len = protobuf_c_message_get_packed_size(in);
                req = xmalloc(len ? len : 1);
                len = protobuf_c_message_pack(in, req);
        }
        r = ttrpc_client_call(c->conn, service, method, &c->md, 1, req, len, c->timeout_ms, &resp,
                              &resp_len, &err);
        if (r < 0) {
                /* transport failures are "ttrpc S/M: why"; anything else is the peer's status */
                if (strncmp(err.msg, "ttrpc ", STRLEN("ttrpc ")) == 0)
                        fprintf(stderr, "berth-shim-client: %s\n", err.msg);
                else
                        fprintf(stderr, "berth-shim-client: %s: %s: %s\n", method,
                                rpc_code_to_string(rpc_code_from_errno(r)), err.msg);
                return EXIT_FAILURE;
        }
        if (!out_desc) {
                printf("%zu\n", resp_len);
                return 0;
        }
        *(ProtobufCMessage **) ret = protobuf_c_message_unpack(out_desc, NULL, resp_len, resp);
        if (!*(ProtobufCMessage **) ret) {
                fprintf(stderr, "berth-shim-client: %s: cannot decode %s\n", method,
                        out_desc->name);
                return EXIT_FAILURE;
        }
        return 0;
}

/* An empty answer (google.protobuf.Empty) is all some methods give. */
static int call_empty(struct client *c, const char *method, const ProtobufCMessage *in)
{
        _cleanup_(pb_freep) ProtobufCMessage *out = NULL;

        return call(c, TASK_SERVICE, method, in, &google__protobuf__empty__descriptor, &out);
}

static const char *opt_arg(int argc, char **argv, int i)
{
        return i < argc ? argv[i] : "";
}

static int parse_u32(const char *s, uint32_t *ret)
{
        uint64_t v;

        if (parse_uint64(s, &v) < 0 || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

/* The trailing "terminal", "binary=PATH", "root=DIR" words of create into in and opts. */
static int create_words(int argc, char **argv, Containerd__Task__V2__CreateTaskRequest *in,
                        Containerd__Runc__V1__Options *opts)
{
        for (int i = 6; i < argc; i++) {
                if (STREQ(argv[i], "terminal"))
                        in->terminal = true;
                else if (strncmp(argv[i], "binary=", 7) == 0)
                        opts->binary_name = argv[i] + 7;
                else if (strncmp(argv[i], "root=", 5) == 0)
                        opts->root = argv[i] + 5;
                else
                        return -EINVAL;
        }
        return 0;
}

static int cmd_create(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__CreateTaskRequest in =
                CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
        Containerd__Runc__V1__Options opts = CONTAINERD__RUNC__V1__OPTIONS__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__CreateTaskResponse *out = NULL;
        _cleanup_free_ uint8_t *packed = NULL;
        int r;

        if (argc < 6 || create_words(argc, argv, &in, &opts) < 0)
                return EXIT_USAGE;
        in.id = argv[1];
        in.bundle = argv[2];
        in.stdin = argv[3];
        in.stdout = argv[4];
        in.stderr = argv[5];
        if (opts.binary_name[0] || opts.root[0]) {
                packed = xmalloc(containerd__runc__v1__options__get_packed_size(&opts) + 1);
                any.type_url = (char *) "containerd.runc.v1.Options";
                any.value.len = containerd__runc__v1__options__pack(&opts, packed);
                any.value.data = packed;
                in.options = &any;
        }
        r = call(c, TASK_SERVICE, "Create", &in.base,
                 &containerd__task__v2__create_task_response__descriptor, &out);
        if (r == 0)
                printf("%" PRIu32 "\n", out->pid);
        return r;
}

static int cmd_start(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__StartRequest in = CONTAINERD__TASK__V2__START_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__StartResponse *out = NULL;
        int r;

        if (argc < 2 || argc > 3)
                return EXIT_USAGE;
        in.id = argv[1];
        in.exec_id = (char *) opt_arg(argc, argv, 2);
        r = call(c, TASK_SERVICE, "Start", &in.base,
                 &containerd__task__v2__start_response__descriptor, &out);
        if (r == 0)
                printf("%" PRIu32 "\n", out->pid);
        return r;
}

static int cmd_wait(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__WaitRequest in = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__WaitResponse *out = NULL;
        int r;

        if (argc < 2 || argc > 3)
                return EXIT_USAGE;
        in.id = argv[1];
        in.exec_id = (char *) opt_arg(argc, argv, 2);
        r = call(c, TASK_SERVICE, "Wait", &in.base,
                 &containerd__task__v2__wait_response__descriptor, &out);
        if (r == 0)
                printf("%" PRIu32 "\n", out->exit_status);
        return r;
}

static int cmd_state(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__StateRequest in = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__StateResponse *out = NULL;
        const ProtobufCEnumValue *status;
        int r;

        if (argc < 2 || argc > 3)
                return EXIT_USAGE;
        in.id = argv[1];
        in.exec_id = (char *) opt_arg(argc, argv, 2);
        r = call(c, TASK_SERVICE, "State", &in.base,
                 &containerd__task__v2__state_response__descriptor, &out);
        if (r != 0)
                return r;
        status = protobuf_c_enum_descriptor_get_value(&containerd__v1__types__status__descriptor,
                                                      out->status);
        printf("%s %" PRIu32 " %" PRIu32 "\n", status ? status->name : "?", out->pid,
               out->exit_status);
        return 0;
}

static int cmd_kill(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__KillRequest in = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
        int i = 3;

        if (argc < 3 || argc > 5 || parse_u32(argv[2], &in.signal) < 0)
                return EXIT_USAGE;
        in.id = argv[1];
        if (i < argc && STREQ(argv[i], "all")) {
                in.all = true;
                i++;
        }
        if (i < argc)
                in.exec_id = argv[i++];
        if (i != argc)
                return EXIT_USAGE;
        return call_empty(c, "Kill", &in.base);
}

static int cmd_exec(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__ExecProcessRequest in =
                CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
        Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
        _cleanup_free_ char *json = NULL;
        size_t len;
        int r;

        if (argc < 7 || argc > 8 || (argc == 8 && !STREQ(argv[7], "terminal")))
                return EXIT_USAGE;
        r = read_file_at(AT_FDCWD, argv[3], SPEC_MAX_BYTES, &json, &len);
        if (r < 0) {
                fprintf(stderr, "berth-shim-client: %s: %s\n", argv[3], strerror(-r));
                return EXIT_FAILURE;
        }
        /* what containerd 1.6 sends: typeurl's JSON of a specs.Process */
        spec.type_url = (char *) PROCESS_SPEC_TYPE;
        spec.value.data = (uint8_t *) json;
        spec.value.len = len;
        in.id = argv[1];
        in.exec_id = argv[2];
        in.stdin = argv[4];
        in.stdout = argv[5];
        in.stderr = argv[6];
        in.terminal = argc == 8;
        in.spec = &spec;
        return call_empty(c, "Exec", &in.base);
}

static int cmd_pids(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__PidsRequest in = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__PidsResponse *out = NULL;
        int r;

        if (argc != 2)
                return EXIT_USAGE;
        in.id = argv[1];
        r = call(c, TASK_SERVICE, "Pids", &in.base,
                 &containerd__task__v2__pids_response__descriptor, &out);
        for (size_t i = 0; r == 0 && i < out->n_processes; i++)
                printf("%" PRIu32 "\n", out->processes[i]->pid);
        return r;
}

static int cmd_pause_resume(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__PauseRequest pause = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
        Containerd__Task__V2__ResumeRequest resume = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;

        if (argc != 2)
                return EXIT_USAGE;
        if (STREQ(argv[0], "pause")) {
                pause.id = argv[1];
                return call_empty(c, "Pause", &pause.base);
        }
        resume.id = argv[1];
        return call_empty(c, "Resume", &resume.base);
}

static int cmd_delete(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__DeleteRequest in = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__DeleteResponse *out = NULL;
        int r;

        if (argc < 2 || argc > 3)
                return EXIT_USAGE;
        in.id = argv[1];
        in.exec_id = (char *) opt_arg(argc, argv, 2);
        r = call(c, TASK_SERVICE, "Delete", &in.base,
                 &containerd__task__v2__delete_response__descriptor, &out);
        if (r == 0)
                printf("%" PRIu32 "\n", out->exit_status);
        return r;
}

static int cmd_connect(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__ConnectRequest in = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
        _cleanup_(pb_freep) Containerd__Task__V2__ConnectResponse *out = NULL;
        int r;

        if (argc != 2)
                return EXIT_USAGE;
        in.id = argv[1];
        r = call(c, TASK_SERVICE, "Connect", &in.base,
                 &containerd__task__v2__connect_response__descriptor, &out);
        if (r == 0)
                printf("%" PRIu32 " %" PRIu32 "\n", out->shim_pid, out->task_pid);
        return r;
}

static int cmd_shutdown(struct client *c, int argc, char **argv)
{
        Containerd__Task__V2__ShutdownRequest in = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;

        if (argc < 2 || argc > 3 || (argc == 3 && !STREQ(argv[2], "now")))
                return EXIT_USAGE;
        in.id = argv[1];
        in.now = argc == 3;
        return call_empty(c, "Shutdown", &in.base);
}

static int cmd_raw(struct client *c, int argc, char **argv)
{
        if (argc != 3)
                return EXIT_USAGE;
        return call(c, argv[1], argv[2], NULL, NULL, NULL);
}

static const struct command {
        const char *name;
        int (*fn)(struct client *c, int argc, char **argv);
} commands[] = {
        {"create", cmd_create}, {"start", cmd_start},        {"wait", cmd_wait},
        {"state", cmd_state},   {"kill", cmd_kill},          {"exec", cmd_exec},
        {"pids", cmd_pids},     {"pause", cmd_pause_resume}, {"resume", cmd_pause_resume},
        {"delete", cmd_delete}, {"connect", cmd_connect},    {"shutdown", cmd_shutdown},
        {"raw", cmd_raw},
};

int main(int argc, char **argv)
{
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *conn = NULL;
        struct client c = {.md = {"containerd-namespace-ttrpc", NULL},
                           .timeout_ms = DEFAULT_TIMEOUT_MS};
        const struct command *cmd = NULL;
        struct errmsg err = {0};
        int i = 1, r;

        (void) signal(SIGPIPE, SIG_IGN);
        if (argc > 2 && STREQ(argv[1], "-t")) {
                uint32_t t;

                if (parse_u32(argv[2], &t) < 0 || t > INT32_MAX) {
                        usage(stderr);
                        return EXIT_USAGE;
                }
                c.timeout_ms = (int) t;
                i = 3;
        }
        if (argc - i < 3) {
                usage(stderr);
                return EXIT_USAGE;
        }
        for (size_t k = 0; k < ELEMENTSOF(commands); k++)
                if (STREQ(commands[k].name, argv[i + 2]))
                        cmd = &commands[k];
        if (!cmd) {
                fprintf(stderr, "berth-shim-client: unknown method %s\n", argv[i + 2]);
                usage(stderr);
                return EXIT_USAGE;
        }
        r = ttrpc_client_connect(argv[i], &conn, &err);
        if (r < 0) {
                fprintf(stderr, "berth-shim-client: %s\n", err.msg);
                return EXIT_FAILURE;
        }
        c.conn = conn;
        c.md.value = argv[i + 1];
        r = cmd->fn(&c, argc - i - 2, argv + i + 2);
        if (r == EXIT_USAGE)
                usage(stderr);
        fflush(stdout);
        return r;
}
