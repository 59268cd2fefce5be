/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr's contract between main.c and its subcommands (cmd-<verb>.c): the global options
 * (ctr's --address, --namespace, --timeout, --connect-timeout, --debug), a lazily connected
 * gRPC client to a containerd 1.6 API (berth-containerd or the real containerd), protobuf
 * calls with the namespace and lease metadata, argument parsing and ctr's tabular output.
 *
 * Commands return 0 or -errno with err set; main prints "ctr: <err.msg>" as ctr does and
 * exits 1.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/errmsg.h"
#include "lib/grpc.h"

#define CTR_DEFAULT_ADDRESS   "/run/berth/containerd/containerd.sock"
#define CTR_DEFAULT_NAMESPACE "default"

struct ctr_opts {
        const char *address;   /* --address, -a, $CONTAINERD_ADDRESS */
        const char *namespace; /* --namespace, -n, $CONTAINERD_NAMESPACE */
        int timeout_ms;        /* --timeout: per call, 0 none */
        bool debug;            /* --debug */
};

/* One invocation: options, the connection (made on first use), the lease in use. */
struct ctr {
        const struct ctr_opts *opts;
        struct grpc_client *grpc;
        char *lease; /* sent as containerd-lease while set; the caller's */
};

/* Connects on first use; the client stays c's. */
int ctr_client(struct ctr *c, struct grpc_client **ret, struct errmsg *err);
void ctr_release(struct ctr *c);

/*
 * A unary call of path with req; *ret_resp (unpacked as resp_desc, free with
 * protobuf_c_message_free_unpacked or _cleanup_pb_) on success. err carries the server's
 * message as ctr prints it (containerd's errdefs words included).
 */
int ctr_call(struct ctr *c, const char *path, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, void *ret_resp, struct errmsg *err);

/*
 * errdefs.FromGRPC's wording: the error's word (": not found", ": already exists",
 * ": invalid argument", ": failed precondition", ": not implemented", ": unavailable",
 * ": unknown") appended to err's message unless it ends with it already, as ctr prints errors
 * of real containerd (which sends "task x not found" bare). Returns r.
 */
int ctr_errdefs(int r, struct errmsg *err);

/* ctr_call() with errdefs.FromGRPC's wording of its errors (ctr_errdefs). */
static inline int ctr_rpc(struct ctr *c, const char *path, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *resp_desc, void *ret_resp,
                          struct errmsg *err)
{
        return ctr_errdefs(ctr_call(c, path, req, resp_desc, ret_resp, err), err);
}

/* A stream on path with the namespace (and lease) metadata; *ret is the caller's. */
int ctr_stream_open(struct ctr *c, const char *path, struct grpc_client_stream **ret,
                    struct errmsg *err);
int ctr_stream_send(struct grpc_client_stream *st, const ProtobufCMessage *m, struct errmsg *err);
/* 1 with *ret (unpacked as desc), 0 at the end of the stream, or -errno. */
int ctr_stream_recv(struct grpc_client_stream *st, const ProtobufCMessageDescriptor *desc,
                    void *ret, struct errmsg *err);

static inline void ctr_pb_freep(void *p)
{
        ProtobufCMessage **m = p;

        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_pb_ _cleanup_(ctr_pb_freep)

/* --- commands ----------------------------------------------------------------------- */

/*
 * A (sub)command: names (the first is shown; the others are ctr's aliases, NULL-terminated),
 * and either run (a leaf: argv[0] is the command's own name) or subcommands.
 */
struct ctr_command {
        const char *names[4];
        const char *usage;
        int (*run)(struct ctr *c, int argc, char **argv, struct errmsg *err);
        const struct ctr_command *subcommands;
};

/* Finds argv[0] in table and runs it (descending into subcommands); -EINVAL for an unknown
 * name, with ctr's "No help topic for" wording. */
int ctr_dispatch(const struct ctr_command *table, struct ctr *c, int argc, char **argv,
                 struct errmsg *err);

/*
 * Flags of a leaf command, parsed as ctr's (Go flag package): "-f", "--f", "-f=v", "--f v";
 * parsing stops at the first argument that is not a flag, or after "--". Booleans take
 * no value ("--rm"); repeatable flags collect every value (e.g. --env, --label, --mount).
 */
enum ctr_flag_kind {
        CTR_FLAG_BOOL,   /* bool *value */
        CTR_FLAG_STRING, /* const char **value (borrowed from argv) */
        CTR_FLAG_INT,    /* long *value */
        CTR_FLAG_LIST,   /* char ***value: strv the caller frees */
        _CTR_FLAG_KIND_MAX,
};
struct ctr_flag {
        const char *name; /* long name */
        char alias;       /* one-letter alias or 0 */
        enum ctr_flag_kind kind;
        void *value;
};
/* Parses flags from argv[1...] (argv[0] is the command) after moving the defined flags
 * written after operands before them, as urfave/cli does (argv is reordered in place);
 * *ret_index is the first operand. -EINVAL with err "flag provided but not defined: -x" as
 * Go's flag package words it. */
int ctr_flags_parse(const struct ctr_flag *flags, int argc, char **argv, int *ret_index,
                    struct errmsg *err);
/* The same without the reordering: for run and tasks exec (ctr's SkipArgReorder), whose
 * operands end with a command line of its own flags. */
int ctr_flags_parse_in_order(const struct ctr_flag *flags, int argc, char **argv, int *ret_index,
                             struct errmsg *err);

/* --- output ------------------------------------------------------------------------- */

/*
 * Go's text/tabwriter as ctr uses it (flags 0): rows of cells separated by '\t'; every cell
 * that a '\t' ends is padded to its column's width: the widest cell (in runes) plus padding,
 * at least minwidth, over the block of consecutive rows that have that column; the text after
 * a row's last '\t' is printed as it is.
 */
struct table;
struct table *table_new(FILE *out, int minwidth, int padding);
/* The same with Go's tabwidth and padchar: '\t' pads with tabs to multiples of tabwidth
 * (ctr content ls: tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0)). */
struct table *table_new_padchar(FILE *out, int minwidth, int tabwidth, int padding, char padchar);
void table_printf(struct table *t, const char *fmt, ...) _printf_(2, 3);
/* Writes everything and frees t. */
void table_flush(struct table *t);

/* Go's units.HumanSize (docker/go-units): "1.5 kB", "4 MB", decimal, 4 significant digits. */
void human_size(double size, char *buf, size_t n);
/* containerd's progress.Bytes: "123.0 B", "1.2 KiB" (binary, one decimal) */
void human_bytes(int64_t size, char *buf, size_t n);
/* Go's time.Duration rounded to seconds for "ctr content ls" AGE: "2 minutes" etc. */
void human_duration(int64_t seconds, char *buf, size_t n);

/* Labels as "k=v,k2=v2" (sorted by key, as ctr prints), "-" when there are none. */
char *labels_string(void *const *entries, size_t n);
