/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table between our negative errno values and gRPC status codes (used by ttrpc now
 * and gRPC later): -ENOENT NOT_FOUND, -EEXIST ALREADY_EXISTS, -EINVAL INVALID_ARGUMENT,
 * -EBUSY FAILED_PRECONDITION, -EOPNOTSUPP UNIMPLEMENTED, -ETIMEDOUT DEADLINE_EXCEEDED,
 * -ECANCELED CANCELLED, -EPERM PERMISSION_DENIED, -EAGAIN UNAVAILABLE, anything else INTERNAL.
 */
#pragma once

enum rpc_code {
        RPC_OK = 0,
        RPC_CANCELLED = 1,
        RPC_UNKNOWN = 2,
        RPC_INVALID_ARGUMENT = 3,
        RPC_DEADLINE_EXCEEDED = 4,
        RPC_NOT_FOUND = 5,
        RPC_ALREADY_EXISTS = 6,
        RPC_PERMISSION_DENIED = 7,
        RPC_RESOURCE_EXHAUSTED = 8,
        RPC_FAILED_PRECONDITION = 9,
        RPC_ABORTED = 10,
        RPC_OUT_OF_RANGE = 11,
        RPC_UNIMPLEMENTED = 12,
        RPC_INTERNAL = 13,
        RPC_UNAVAILABLE = 14,
        RPC_DATA_LOSS = 15,
        RPC_UNAUTHENTICATED = 16,
        _RPC_CODE_MAX,
};

/* 0 (or positive) maps to RPC_OK. */
enum rpc_code rpc_code_from_errno(int r);
/* RPC_OK maps to 0; others to a negative errno (NOT_FOUND -ENOENT, …, default -EIO). */
int rpc_code_to_errno(enum rpc_code code);
/* "NOT_FOUND", …; NULL when out of range. */
const char *rpc_code_to_string(enum rpc_code code);
/* The code for "NOT_FOUND", …, or -EINVAL. */
int rpc_code_from_string(const char *s);

/*
 * containerd's errdefs class word for r ("not found" for -ENOENT, "already exists",
 * "invalid argument", "failed precondition", "not implemented", "unavailable"), which ends
 * containerd's error messages and which its clients match; NULL for other errors.
 */
const char *rpc_errdefs_word(int r);
