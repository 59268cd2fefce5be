/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The errno <-> gRPC status table (see rpc-status.h). One table serves both directions, so
 * that a code survives a round trip through a peer: rpc_code_from_errno(rpc_code_to_errno(c))
 * gives c back for every code in the table.
 */
#include "rpc-status.h"

#include "common.h"

static const struct {
        int errno_value; /* negative */
        enum rpc_code code;
} rpc_code_table[] = {
        {-ENOENT, RPC_NOT_FOUND},         {-EEXIST, RPC_ALREADY_EXISTS},
        {-EINVAL, RPC_INVALID_ARGUMENT},  {-EBUSY, RPC_FAILED_PRECONDITION},
        {-EOPNOTSUPP, RPC_UNIMPLEMENTED}, {-ETIMEDOUT, RPC_DEADLINE_EXCEEDED},
        {-ECANCELED, RPC_CANCELLED},      {-EPERM, RPC_PERMISSION_DENIED},
        {-EAGAIN, RPC_UNAVAILABLE},       {-EIO, RPC_INTERNAL},
};

static const char *const rpc_code_names[_RPC_CODE_MAX] = {
        [RPC_OK] = "OK",
        [RPC_CANCELLED] = "CANCELLED",
        [RPC_UNKNOWN] = "UNKNOWN",
        [RPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
        [RPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
        [RPC_NOT_FOUND] = "NOT_FOUND",
        [RPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
        [RPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
        [RPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
        [RPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
        [RPC_ABORTED] = "ABORTED",
        [RPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
        [RPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
        [RPC_INTERNAL] = "INTERNAL",
        [RPC_UNAVAILABLE] = "UNAVAILABLE",
        [RPC_DATA_LOSS] = "DATA_LOSS",
        [RPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

enum rpc_code rpc_code_from_errno(int r)
{
        if (r >= 0)
                return RPC_OK;
        /* ENOTSUP and EOPNOTSUPP are one value on Linux; EWOULDBLOCK is EAGAIN */
        for (size_t i = 0; i < ELEMENTSOF(rpc_code_table); i++)
                if (rpc_code_table[i].errno_value == r)
                        return rpc_code_table[i].code;
        return RPC_INTERNAL;
}

int rpc_code_to_errno(enum rpc_code code)
{
        if (code == RPC_OK)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(rpc_code_table); i++)
                if (rpc_code_table[i].code == code)
                        return rpc_code_table[i].errno_value;
        return -EIO;
}

const char *rpc_code_to_string(enum rpc_code code)
{
        if ((unsigned) code >= _RPC_CODE_MAX)
                return NULL;
        return rpc_code_names[code];
}

int rpc_code_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(rpc_code_names); i++)
                if (STREQ_PTR(rpc_code_names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *rpc_errdefs_word(int r)
{
        switch (r) {
        case -ENOENT:
                return "not found";
        case -EEXIST:
                return "already exists";
        case -EINVAL:
                return "invalid argument";
        case -EBUSY:
                return "failed precondition";
        case -EOPNOTSUPP:
                return "not implemented";
        case -EAGAIN:
                return "unavailable";
        default:
                return NULL;
        }
}
