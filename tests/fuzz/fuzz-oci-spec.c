/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the config.json parser (runc/spec.c, spec-linux.c, seccomp.c): any
 * input must give a spec or an error, without crash or leak.
 */
#include "lib/errmsg.h"
#include "runc/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
        struct oci_process process = {0};
        struct errmsg err = {0};

        if (size > SPEC_MAX_BYTES)
                return 0;
        (void) oci_spec_parse((const char *) data, size, &spec, &err);
        /* the same bytes as an "exec --process" file */
        if (oci_process_parse_text((const char *) data, size, &process, &err) == 0)
                oci_process_release(&process);
        return 0;
}
